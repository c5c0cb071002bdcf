// What the host bridge tells devices: the INTx line of their pin (and the
// Interrupt Line register a BIOS would fill in), and bars_changed() after
// their BARs moved on the buses.
#include <gtest/gtest.h>

#include "devices/pci/pci_config_space.h"
#include "devices/pci/pci_host_bridge.h"
#include "tests/support/fake_interrupts.h"
#include "test_pci_device.h"

namespace keel::devices {
namespace {

using namespace pci_reg;
using namespace pci_layout;
using keel::testing::FakeInterruptController;
using keel::testing::TestPciDevice;
using Bars = std::initializer_list<std::pair<uint8_t, PciBarInfo>>;

class PciHostBridgeWiringTest : public ::testing::Test {
 protected:
  PciHostBridgeWiringTest() {
    bridge = PciHostBridge::create(pio, mmio, nullptr, &interrupts);
    bridge->install();
  }
  uint32_t cfg_read(uint8_t slot, uint16_t reg, size_t size) {
    uint32_t v = 0;
    bridge->config_read(slot, 0, reg, std::as_writable_bytes(std::span(&v, 1)).first(size));
    return v;
  }
  void cfg_write(uint8_t slot, uint16_t reg, uint32_t v, size_t size) {
    bridge->config_write(slot, 0, reg, std::as_bytes(std::span(&v, 1)).first(size));
  }

  Bus pio{"pio"};
  Bus mmio{"mmio"};
  FakeInterruptController interrupts;
  std::shared_ptr<PciHostBridge> bridge;
};

TEST(PciLayout, IntxSwizzleCoversTheEightInputsAboveIsa) {
  EXPECT_EQ(intx_gsi(1, 1), 17u);
  EXPECT_EQ(intx_gsi(1, 4), 20u);
  EXPECT_EQ(intx_gsi(7, 1), 23u);
  EXPECT_EQ(intx_gsi(8, 1), 16u);
  EXPECT_EQ(intx_gsi(9, 1), intx_gsi(1, 1));
  EXPECT_EQ(intx_gsi(1, 0), 0u) << "no pin";
  EXPECT_EQ(intx_gsi(1, 5), 0u);
  EXPECT_EQ(intx_gsi(32, 1), 0u);
  for (uint8_t slot = 1; slot < kSlotCount; ++slot) {
    for (uint8_t pin = 1; pin <= 4; ++pin) {
      EXPECT_GE(intx_gsi(slot, pin), 16u);
      EXPECT_LE(intx_gsi(slot, pin), 23u);
      if (pin > 1) {
        EXPECT_NE(intx_gsi(slot, pin), intx_gsi(slot, pin - 1)) << "pins of one slot differ";
      }
    }
  }
}

TEST_F(PciHostBridgeWiringTest, IntxWiredToTheSwizzledGsiAndInterruptLineWritten) {
  auto first = std::make_shared<TestPciDevice>(Bars{}, 1);
  auto second = std::make_shared<TestPciDevice>(Bars{}, 3);
  ASSERT_EQ(bridge->add_device(first), 1);
  ASSERT_EQ(bridge->add_device(second), 2);
  EXPECT_EQ(cfg_read(1, kInterruptLine, 1), intx_gsi(1, 1));
  EXPECT_EQ(cfg_read(1, kInterruptPin, 1), 1u);
  EXPECT_EQ(cfg_read(2, kInterruptLine, 1), intx_gsi(2, 3));
  EXPECT_EQ(first->intx_connects, 1);
  ASSERT_NE(first->intx, nullptr);
  EXPECT_EQ(first->intx, interrupts.line(intx_gsi(1, 1)));
  EXPECT_EQ(second->intx, interrupts.line(intx_gsi(2, 3)));
  // The line really is that GSI's: raising it shows on the fake.
  first->intx->set_level(true);
  EXPECT_TRUE(interrupts.line(17)->level());
  // The guest may still use Interrupt Line as scratch.
  cfg_write(1, kInterruptLine, 0x0B, 1);
  EXPECT_EQ(cfg_read(1, kInterruptLine, 1), 0x0Bu);
}

TEST_F(PciHostBridgeWiringTest, DeviceWithoutPinGetsNoLine) {
  auto device = std::make_shared<TestPciDevice>(Bars{}, 0);
  ASSERT_EQ(bridge->add_device(device), 1);
  EXPECT_EQ(device->intx_connects, 0);
  EXPECT_EQ(cfg_read(1, kInterruptLine, 1), 0u);
  EXPECT_EQ(interrupts.line(intx_gsi(1, 1)), nullptr);
}

TEST(PciHostBridgeWiring, NoInterruptControllerMeansNoIntx) {
  Bus pio("pio"), mmio("mmio");
  auto bridge = PciHostBridge::create(pio, mmio, nullptr);
  auto device = std::make_shared<TestPciDevice>(Bars{}, 1);
  bridge->add_device(device);
  EXPECT_EQ(device->intx_connects, 0);
}

TEST_F(PciHostBridgeWiringTest, BarsChangedAfterAddMoveAndDecodeToggle) {
  auto device = std::make_shared<TestPciDevice>(
      Bars{{0, {PciBarKind::memory32, 0x1000, false}}, {1, {PciBarKind::io, 0x20, false}}});
  const uint8_t slot = bridge->add_device(device);
  ASSERT_EQ(device->bar_reports.size(), 1u) << "one report once the BARs are assigned";
  const PciBarRegions first = device->bar_reports[0];  // a copy: the vector grows below
  ASSERT_TRUE(first[0] && first[1]);
  EXPECT_EQ(*first[0], (PciBarRegion{false, kMmioWindowStart, 0x1000}));
  EXPECT_EQ(*first[1], (PciBarRegion{true, kIoAllocationStart, 0x20}));
  EXPECT_FALSE(first[2]);

  cfg_write(slot, kInterruptLine, 5, 1);  // nothing moved: no report
  EXPECT_EQ(device->bar_reports.size(), 1u);

  cfg_write(slot, kBar0, 0xD000'0000, 4);
  ASSERT_EQ(device->bar_reports.size(), 2u);
  EXPECT_EQ(device->bar_reports[1][0]->address, 0xD000'0000u);
  EXPECT_EQ(device->bar_reports[1][1], first[1]);

  cfg_write(slot, kCommand, kCommandIo, 2);  // memory decode off
  ASSERT_EQ(device->bar_reports.size(), 3u);
  EXPECT_FALSE(device->bar_reports[2][0]);
  EXPECT_TRUE(device->bar_reports[2][1]);

  cfg_write(slot, kCommand, kCommandIo | kCommandMemory, 2);
  ASSERT_EQ(device->bar_reports.size(), 4u);
  EXPECT_EQ(device->bar_reports[3][0]->address, 0xD000'0000u);
}

TEST_F(PciHostBridgeWiringTest, BarsChangedReportsOnlyMappedBars) {
  auto a = std::make_shared<TestPciDevice>(Bars{{0, {PciBarKind::memory32, 0x1000, false}}});
  auto b = std::make_shared<TestPciDevice>(Bars{{0, {PciBarKind::memory32, 0x1000, false}}});
  const uint8_t sa = bridge->add_device(a);
  bridge->add_device(b);
  const uint64_t b_base = b->bar_reports.at(0)[0]->address;
  cfg_write(sa, kBar0, static_cast<uint32_t>(b_base), 4);  // overlaps b: decodes, but not mapped
  ASSERT_EQ(a->bar_reports.size(), 2u);
  EXPECT_FALSE(a->bar_reports[1][0]);
  EXPECT_EQ(b->bar_reports.size(), 1u) << "b is untouched";
}

TEST_F(PciHostBridgeWiringTest, DeviceWithoutBarsStillGetsOneReport) {
  auto device = std::make_shared<TestPciDevice>(Bars{});
  bridge->add_device(device);
  ASSERT_EQ(device->bar_reports.size(), 1u);
  EXPECT_EQ(device->bar_reports[0], PciBarRegions{});
}

}  // namespace
}  // namespace keel::devices
