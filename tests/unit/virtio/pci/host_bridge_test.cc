// The transport on keel's PCI host bridge: BARs placed at start-up, INTx
// wired, doorbells registered where BAR2 really is and moved with it, and
// a doorbell MMIO write that was not intercepted reaching the device.
#include <gtest/gtest.h>
#include <unistd.h>

#include "devices/pci/pci_host_bridge.h"
#include "devices/pci/pci_layout.h"
#include "keel/bus.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/virtio/pci/fake_virtio_device.h"
#include "virtio/pci/virtio_pci_device.h"
#include "virtio/pci/virtio_pci_layout.h"

namespace keel::testing {
namespace {

namespace vp = virtio::pci;

class VirtioPciOnBridgeTest : public ::testing::Test {
 protected:
  VirtioPciOnBridgeTest() {
    bridge = devices::PciHostBridge::create(pio, mmio, nullptr, &interrupts);
    bridge->install();
    device = std::make_shared<virtio::VirtioPciDevice>(fake, guest.memory(), interrupts, registrar, poller);
    slot = bridge->add_device(device);
  }
  uint32_t cfg_read(uint16_t offset) {
    uint32_t value = 0;
    bridge->config_read(slot, 0, offset, std::as_writable_bytes(std::span(&value, 1)));
    return value;
  }
  void cfg_write(uint16_t offset, uint32_t value) {
    bridge->config_write(slot, 0, offset, std::as_bytes(std::span(&value, 1)));
  }
  uint64_t bar2() const {
    const auto decoded = device->decoded_bars();
    return decoded[vp::kVirtioBar] ? decoded[vp::kVirtioBar]->address : 0;
  }

  // Fakes first: the buses (declared after) own the bridge and the device.
  TestGuestMemory guest{1 << 20};
  FakeInterruptController interrupts;
  FakeDoorbellRegistrar registrar;
  FakeFdPoller poller;
  std::shared_ptr<FakeVirtioDevice> fake = std::make_shared<FakeVirtioDevice>();
  Bus pio{"pio"};
  Bus mmio{"mmio"};
  std::shared_ptr<devices::PciHostBridge> bridge;
  std::shared_ptr<virtio::VirtioPciDevice> device;
  uint8_t slot = 0;
};

TEST_F(VirtioPciOnBridgeTest, AddDevicePlacesBarsAndRegistersDoorbells) {
  const uint64_t base = bar2();
  ASSERT_NE(base, 0u);
  EXPECT_EQ(base % vp::kVirtioBarSize, 0u);
  const auto live = registrar.live();
  ASSERT_EQ(live.size(), 2u);
  for (const DoorbellSpec& spec : live) {
    const uint16_t queue = spec.eventfd == device->doorbell_eventfd(0) ? 0 : 1;
    EXPECT_EQ(spec.address, base + vp::kNotifyOffset + 4 * queue);
  }
  // INTx wired to the slot's IOAPIC input.
  EXPECT_NE(interrupts.line(devices::pci_layout::intx_gsi(slot, 1)), nullptr);
}

TEST_F(VirtioPciOnBridgeTest, DoorbellsMoveWithBar2) {
  const uint64_t old_base = bar2();
  const uint64_t new_base = old_base + 0x10'0000;
  cfg_write(0x18, static_cast<uint32_t>(new_base) | devices::pci_reg::kBarMemory64);
  ASSERT_EQ(bar2(), new_base);
  const auto live = registrar.live();
  ASSERT_EQ(live.size(), 2u);
  for (const DoorbellSpec& spec : live) EXPECT_GE(spec.address, new_base + vp::kNotifyOffset);
  // Memory decode off: the doorbells go away.
  cfg_write(0x04, cfg_read(0x04) & ~uint32_t{devices::pci_reg::kCommandMemory});
  EXPECT_TRUE(registrar.live().empty());
}

TEST_F(VirtioPciOnBridgeTest, UninterceptedDoorbellWriteReachesTheEventfd) {
  const uint16_t queue_index = 1;
  ASSERT_TRUE(mmio.write(bar2() + vp::kNotifyOffset + 4, std::as_bytes(std::span(&queue_index, 1))));
  EXPECT_EQ(device->fallback_notifications(), 1u);
  uint64_t count = 0;
  EXPECT_EQ(::read(device->doorbell_eventfd(1), &count, sizeof(count)), static_cast<ssize_t>(sizeof(count)));
  // And common config answers on the bus.
  uint16_t num_queues = 0;
  ASSERT_TRUE(mmio.read(bar2() + vp::kCommonCfgOffset + vp::common::kNumQueues,
                        std::as_writable_bytes(std::span(&num_queues, 1))));
  EXPECT_EQ(num_queues, 2);
}

}  // namespace
}  // namespace keel::testing
