// Machine reset of PCI: a function's configuration space goes back to what
// a freshly built one reads; the host bridge resets every function and
// programs the BARs, Interrupt Line and decode bits add_device() gave it,
// so the BARs decode at the same addresses again.
#include <gtest/gtest.h>

#include <array>

#include "devices/pci/pci_config_space.h"
#include "devices/pci/pci_host_bridge.h"
#include "test_pci_device.h"

namespace keel::devices {
namespace {

using namespace pci_reg;
using testing::TestPciDevice;

void build(PciConfigSpace& config) {
  config.add_bar(0, PciBarInfo{PciBarKind::memory32, 0x1000, false});
  config.add_bar(1, PciBarInfo{PciBarKind::io, 0x20, false});
  const std::array<uint8_t, 6> body{0x01, 0x02, 0x00, 0x00, 0x00, 0x00};
  const std::array<uint8_t, 6> mask{0x00, 0x00, 0xFF, 0xFF, 0x0F, 0x00};
  (void)config.add_capability(0x09, body, mask);
}

constexpr PciIdentity kIdentity{.vendor_id = 0x1af4, .device_id = 0x1042, .revision = 1, .class_code = 0x010000,
                                .interrupt_pin = 1};

// Dword by dword, as guests read it.
std::array<uint32_t, 64> dump(const PciConfigSpace& config) {
  std::array<uint32_t, 64> dwords{};
  for (uint16_t i = 0; i < dwords.size(); ++i) {
    config.read(static_cast<uint16_t>(4 * i), std::as_writable_bytes(std::span(&dwords[i], 1)));
  }
  return dwords;
}

void write32(PciConfigSpace& config, uint16_t offset, uint32_t value) {
  config.write(offset, std::as_bytes(std::span(&value, 1)));
}

TEST(PciConfigSpaceReset, ReadsLikeAFreshFunction) {
  PciConfigSpace fresh(kIdentity);
  build(fresh);
  PciConfigSpace used(kIdentity);
  build(used);
  write32(used, kCommand, 0xFFFF'0000u | kCommandIo | kCommandMemory | kCommandBusMaster | kCommandIntxDisable);
  write32(used, kBar0, 0xFEB0'0000u);
  write32(used, kBar0 + 4, 0xC001u);
  write32(used, kInterruptLine, 0x0B);
  write32(used, 0x40 + 2, 0xFFFF'FFFFu);  // the capability's writable body bytes
  used.set_interrupt_status(true);
  ASSERT_NE(dump(used), dump(fresh));
  ASSERT_TRUE(used.intx_disabled());

  used.reset();
  EXPECT_EQ(dump(used), dump(fresh));
  EXPECT_FALSE(used.interrupt_status());
  EXPECT_FALSE(used.intx_disabled());
  EXPECT_FALSE(used.decoded_bars()[0].has_value());
}

class PciBridgeResetTest : public ::testing::Test {
 protected:
  PciBridgeResetTest() { bridge->install(); }
  uint32_t cfg(uint8_t slot, uint16_t offset) {
    uint32_t value = 0;
    bridge->config_read(slot, 0, offset, std::as_writable_bytes(std::span(&value, 1)));
    return value;
  }
  void set_cfg(uint8_t slot, uint16_t offset, uint32_t value) {
    bridge->config_write(slot, 0, offset, std::as_bytes(std::span(&value, 1)));
  }
  bool mmio_reaches(TestPciDevice& device, uint64_t at) {
    device.accesses.clear();
    std::byte b{};
    mmio.read(at, std::span(&b, 1));
    return device.accesses.size() == 1;
  }

  Bus pio{"pio"};
  Bus mmio{"mmio"};
  std::shared_ptr<PciHostBridge> bridge = PciHostBridge::create(pio, mmio, nullptr);
};

TEST_F(PciBridgeResetTest, FunctionsGetTheirStartUpBarsAndDecodeBack) {
  auto device = std::make_shared<TestPciDevice>(std::initializer_list<std::pair<uint8_t, PciBarInfo>>{
      {0, {PciBarKind::memory32, 0x1000, false}}, {1, {PciBarKind::io, 0x20, false}}});
  const uint8_t slot = bridge->add_device(device);
  std::array<uint32_t, 16> start_up{};
  for (uint16_t i = 0; i < start_up.size(); ++i) start_up[i] = cfg(slot, static_cast<uint16_t>(4 * i));
  const uint32_t bar0 = start_up[kBar0 / 4];
  ASSERT_TRUE(mmio_reaches(*device, bar0));

  // The guest moves BAR0, turns bus mastering and INTx-disable on, rewrites
  // the Interrupt Line and CONFIG_ADDRESS.
  set_cfg(slot, kBar0, 0xE000'0000u);
  set_cfg(slot, kCommand, kCommandIo | kCommandMemory | kCommandBusMaster | kCommandIntxDisable);
  set_cfg(slot, kInterruptLine, 0x0F);
  const uint32_t address = 0x8000'1000u;
  pio.write(0xCF8, std::as_bytes(std::span(&address, 1)));
  ASSERT_FALSE(mmio_reaches(*device, bar0));

  bridge->reset();
  EXPECT_EQ(device->resets, 1);
  for (uint16_t i = 0; i < start_up.size(); ++i) {
    EXPECT_EQ(cfg(slot, static_cast<uint16_t>(4 * i)), start_up[i]) << "config dword " << 4 * i;
  }
  EXPECT_TRUE(mmio_reaches(*device, bar0));
  EXPECT_FALSE(mmio_reaches(*device, 0xE000'0000u));
  uint32_t config_address = 0xFFFF'FFFF;
  pio.read(0xCF8, std::as_writable_bytes(std::span(&config_address, 1)));
  EXPECT_EQ(config_address, 0u);
  // The bridge function itself reads as built.
  EXPECT_EQ(cfg(0, 0), 0x1237'8086u);
}

}  // namespace
}  // namespace keel::devices
