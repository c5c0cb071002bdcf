#include "devices/pci/pci_host_bridge.h"

#include <gtest/gtest.h>

#include "devices/pci/pci_config_space.h"
#include "keel/config_error.h"
#include "test_pci_device.h"

namespace keel::devices {
namespace {

using namespace pci_reg;
using namespace pci_layout;
using testing::TestPciDevice;

// Records accesses to the reset control register forwarded from 0xCF9.
class FakeResetPort final : public BusDevice {
 public:
  void read(uint64_t offset, std::span<std::byte> data) noexcept override {
    reads.push_back(offset);
    data[0] = std::byte{0x02};
  }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override {
    writes.push_back({offset, std::to_integer<uint8_t>(data[0])});
  }
  std::vector<uint64_t> reads;
  std::vector<std::pair<uint64_t, uint8_t>> writes;
};

class PciHostBridgeTest : public ::testing::Test {
 protected:
  PciHostBridgeTest() {
    reset = std::make_shared<FakeResetPort>();
    bridge = PciHostBridge::create(pio, mmio, reset);
    bridge->install();
  }
  uint32_t in(uint16_t port, size_t size) {
    uint32_t v = 0;
    pio.read(port, std::as_writable_bytes(std::span(&v, 1)).first(size));
    return v;
  }
  void out(uint16_t port, uint32_t v, size_t size) { pio.write(port, std::as_bytes(std::span(&v, 1)).first(size)); }
  static uint32_t address(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t reg) {
    return 0x8000'0000u | uint32_t{bus} << 16 | uint32_t{dev} << 11 | uint32_t{fn} << 8 | reg;
  }
  uint32_t cfg_read(uint8_t dev, uint8_t reg, size_t size = 4, uint8_t fn = 0) {
    out(0xCF8, address(0, dev, fn, reg & 0xFC), 4);
    return in(static_cast<uint16_t>(0xCFC + (reg & 3)), size);
  }
  void cfg_write(uint8_t dev, uint8_t reg, uint32_t v, size_t size = 4) {
    out(0xCF8, address(0, dev, 0, reg & 0xFC), 4);
    out(static_cast<uint16_t>(0xCFC + (reg & 3)), v, size);
  }
  uint32_t mmio_read(uint64_t at, size_t size = 4) {
    uint32_t v = 0;
    mmio.read(at, std::as_writable_bytes(std::span(&v, 1)).first(size));
    return v;
  }
  void mmio_write(uint64_t at, uint32_t v, size_t size = 4) {
    mmio.write(at, std::as_bytes(std::span(&v, 1)).first(size));
  }
  // True when an access at `at` reaches BAR `bar` of `device`.
  bool mmio_reaches(TestPciDevice& device, uint64_t at, uint8_t bar) {
    device.accesses.clear();
    const uint32_t v = mmio_read(at, 1);
    return device.accesses.size() == 1 && device.accesses[0].bar == bar && v == bar;
  }

  Bus pio{"pio"};
  Bus mmio{"mmio"};
  std::shared_ptr<FakeResetPort> reset;
  std::shared_ptr<PciHostBridge> bridge;
};

TEST_F(PciHostBridgeTest, HostBridgeAtSlotZero) {
  EXPECT_EQ(cfg_read(0, 0), 0x1237'8086u);
  EXPECT_EQ(cfg_read(0, 0x08) >> 8, 0x060000u);
  EXPECT_EQ(cfg_read(0, 0x0E, 1), 0u);  // type 0, single function
}

TEST_F(PciHostBridgeTest, AbsentSlotsFunctionsAndBusesReadAllOnes) {
  EXPECT_EQ(cfg_read(1, 0), 0xFFFF'FFFFu);
  EXPECT_EQ(cfg_read(31, 0), 0xFFFF'FFFFu);
  EXPECT_EQ(cfg_read(0, 0, 4, 1), 0xFFFF'FFFFu);  // function 1 of the bridge
  out(0xCF8, address(1, 0, 0, 0), 4);
  EXPECT_EQ(in(0xCFC, 4), 0xFFFF'FFFFu);
  out(0xCF8, address(0, 0, 0, 0) & ~0x8000'0000u, 4);  // enable bit clear
  EXPECT_EQ(in(0xCFC, 4), 0xFFFF'FFFFu);
}

TEST_F(PciHostBridgeTest, ConfigAddressReadsBackWithReservedBitsZero) {
  out(0xCF8, 0xFFFF'FFFF, 4);
  EXPECT_EQ(in(0xCF8, 4), 0x80FF'FFFCu);
  out(0xCF8, 0x8000'0000, 4);
  EXPECT_EQ(in(0xCF8, 4), 0x8000'0000u);
  // Byte and word accesses at 0xCF8/0xCFA leave it alone and read all-ones.
  out(0xCF8, 0x12, 1);
  out(0xCF8, 0x1234, 2);
  out(0xCFA, 0x1234, 2);
  EXPECT_EQ(in(0xCF8, 4), 0x8000'0000u);
  EXPECT_EQ(in(0xCF8, 2), 0xFFFFu);
  EXPECT_EQ(in(0xCFA, 1), 0xFFu);
}

TEST_F(PciHostBridgeTest, DataPortByteAndWordOffsets) {
  out(0xCF8, address(0, 0, 0, 0), 4);
  EXPECT_EQ(in(0xCFC, 2), 0x8086u);
  EXPECT_EQ(in(0xCFE, 2), 0x1237u);
  EXPECT_EQ(in(0xCFD, 1), 0x80u);
  EXPECT_EQ(in(0xCFF, 1), 0x12u);
  EXPECT_EQ(in(0xCFD, 2), 0x3780u);
  // Register bits 1:0 of CONFIG_ADDRESS are ignored: the port picks the byte.
  out(0xCF8, address(0, 0, 0, 0x3C), 4);
  out(0xCFC, 0xAB, 1);  // interrupt line
  out(0xCFD, 0xCD, 1);  // interrupt pin: read-only
  EXPECT_EQ(in(0xCFC, 2), 0x00ABu);
}

TEST_F(PciHostBridgeTest, ResetControlByteForwarded) {
  out(0xCF9, 0x06, 1);
  ASSERT_EQ(reset->writes.size(), 1u);
  EXPECT_EQ(reset->writes[0], std::make_pair(uint64_t{0}, uint8_t{0x06}));
  EXPECT_EQ(in(0xCF9, 1), 0x02u);
  EXPECT_EQ(reset->reads.size(), 1u);
  // A dword at 0xCF8 is CONFIG_ADDRESS, never a reset.
  out(0xCF8, 0x8000'0600, 4);
  EXPECT_EQ(reset->writes.size(), 1u);
}

TEST_F(PciHostBridgeTest, EcamAddressesEachFunctionAndRegister) {
  auto device = std::make_shared<TestPciDevice>(std::initializer_list<std::pair<uint8_t, PciBarInfo>>{});
  const uint8_t slot = bridge->add_device(device);
  EXPECT_EQ(slot, 1);
  EXPECT_EQ(mmio_read(kEcamBase), 0x1237'8086u);
  EXPECT_EQ(mmio_read(kEcamBase + (1u << 15)), 0x5678'1234u);
  EXPECT_EQ(mmio_read(kEcamBase + (1u << 15) + 2, 2), 0x5678u);
  EXPECT_EQ(mmio_read(kEcamBase + (1u << 15) + (1u << 12)), 0xFFFF'FFFFu);  // function 1
  EXPECT_EQ(mmio_read(kEcamBase + (2u << 15)), 0xFFFF'FFFFu);
  mmio_write(kEcamBase + (1u << 15) + 0x3C, 0x0B, 1);
  EXPECT_EQ(cfg_read(1, 0x3C, 1), 0x0Bu);
  // Extended config space (0x100+) is reachable only through ECAM.
  EXPECT_EQ(mmio_read(kEcamBase + (1u << 15) + 0x100), 0u);
  // An 8-byte access crossing into the next function reads all-ones.
  uint64_t v = 0;
  mmio.read(kEcamBase + (1u << 15) + 0xFFC, std::as_writable_bytes(std::span(&v, 1)));
  EXPECT_EQ(v, ~uint64_t{0});
  EXPECT_EQ(mmio_read(kEcamBase + kEcamSize - 4), 0xFFFF'FFFFu);
}

TEST_F(PciHostBridgeTest, BarsAssignedAndDecodedAtBuildTime) {
  auto device = std::make_shared<TestPciDevice>(std::initializer_list<std::pair<uint8_t, PciBarInfo>>{
      {0, {PciBarKind::memory32, 0x100, false}},
      {1, {PciBarKind::io, 0x20, false}},
      {2, {PciBarKind::memory64, 0x4000, true}}});
  const uint8_t slot = bridge->add_device(device);
  const uint32_t bar0 = cfg_read(slot, 0x10);
  const uint32_t bar1 = cfg_read(slot, 0x14);
  const uint64_t bar2 = (cfg_read(slot, 0x18) & ~0xFu) | uint64_t{cfg_read(slot, 0x1C)} << 32;
  EXPECT_EQ(bar0, kMmioWindowStart);
  EXPECT_EQ(bar1, kIoAllocationStart | 1);
  EXPECT_EQ(bar2 % 0x4000, 0u);
  EXPECT_GE(bar2, kMmioWindowStart + 0x1000);
  EXPECT_EQ(cfg_read(slot, 0x04, 2) & 3, 3u);
  EXPECT_TRUE(mmio_reaches(*device, bar0 + 0xFF, 0));
  EXPECT_TRUE(mmio_reaches(*device, bar2 + 0x3FFF, 2));
  device->accesses.clear();
  EXPECT_EQ(in(static_cast<uint16_t>(kIoAllocationStart + 4), 2), 0x0101u);
  ASSERT_EQ(device->accesses.size(), 1u);
  EXPECT_EQ(device->accesses[0].offset, 4u);
  out(static_cast<uint16_t>(kIoAllocationStart + 8), 1, 4);
  EXPECT_TRUE(device->accesses.back().write);
}

TEST_F(PciHostBridgeTest, ReprogrammedBarMovesAndDecodeOffRemoves) {
  auto device = std::make_shared<TestPciDevice>(
      std::initializer_list<std::pair<uint8_t, PciBarInfo>>{{0, {PciBarKind::memory32, 0x1000, false}}});
  const uint8_t slot = bridge->add_device(device);
  const uint32_t old_base = cfg_read(slot, 0x10);
  ASSERT_TRUE(mmio_reaches(*device, old_base, 0));
  cfg_write(slot, 0x10, 0xD000'0000);
  EXPECT_TRUE(mmio_reaches(*device, 0xD000'0000, 0));
  EXPECT_FALSE(mmio_reaches(*device, old_base, 0));
  cfg_write(slot, 0x04, 0, 2);  // memory decode off
  EXPECT_FALSE(mmio_reaches(*device, 0xD000'0000, 0));
  EXPECT_EQ(mmio_read(0xD000'0000), 0xFFFF'FFFFu);
  // Sizing with decode off, then restoring, then decode on again.
  cfg_write(slot, 0x10, 0xFFFF'FFFF);
  EXPECT_EQ(cfg_read(slot, 0x10), 0xFFFF'F000u);
  cfg_write(slot, 0x10, 0xD000'0000);
  cfg_write(slot, 0x04, kCommandMemory, 2);
  EXPECT_TRUE(mmio_reaches(*device, 0xD000'0000, 0));
  // Moving through ECAM works the same way.
  mmio_write(kEcamBase + (uint64_t{slot} << 15) + 0x10, 0xD010'0000);
  EXPECT_TRUE(mmio_reaches(*device, 0xD010'0000, 0));
  EXPECT_FALSE(mmio_reaches(*device, 0xD000'0000, 0));
}

TEST_F(PciHostBridgeTest, HostileBarValuesAreNotMappedAndNeverCrash) {
  auto a = std::make_shared<TestPciDevice>(
      std::initializer_list<std::pair<uint8_t, PciBarInfo>>{{0, {PciBarKind::memory32, 0x1000, false}},
                                                            {1, {PciBarKind::io, 0x10, false}},
                                                            {2, {PciBarKind::memory64, 0x1000, false}}});
  auto b = std::make_shared<TestPciDevice>(
      std::initializer_list<std::pair<uint8_t, PciBarInfo>>{{0, {PciBarKind::memory32, 0x1000, false}}});
  const uint8_t sa = bridge->add_device(a);
  const uint8_t sb = bridge->add_device(b);
  const uint32_t b_base = cfg_read(sb, 0x10);

  cfg_write(sa, 0x10, 0);  // BAR at 0: unassigned
  EXPECT_FALSE(mmio_reaches(*a, 0, 0));
  cfg_write(sa, 0x10, b_base);  // overlaps device b: a not mapped, b keeps it
  EXPECT_TRUE(mmio_reaches(*b, b_base, 0));
  EXPECT_TRUE(a->accesses.empty());
  cfg_write(sa, 0x10, 0xFFFF'F000);  // top of the address space: outside the hole
  EXPECT_EQ(mmio_read(0xFFFF'F000), 0xFFFF'FFFFu);
  EXPECT_TRUE(a->accesses.empty());
  cfg_write(sa, 0x10, kEcamBase);  // onto the ECAM window
  EXPECT_EQ(mmio_read(kEcamBase), 0x1237'8086u);
  cfg_write(sa, 0x10, kMmioWindowEnd - 0x800);  // unaligned: low bits dropped -> last page
  EXPECT_TRUE(mmio_reaches(*a, kMmioWindowEnd - 0x1000, 0));
  a->accesses.clear();
  cfg_write(sa, 0x14, 0xFFFF'FFF1);  // I/O BAR far above 64 KiB
  cfg_write(sa, 0x14, 0x0CF1);       // onto the config ports
  EXPECT_EQ(in(0xCF8, 4) & 0x8000'0000u, 0x8000'0000u);  // still CONFIG_ADDRESS
  cfg_write(sa, 0x14, 0x0080);  // below the I/O window
  cfg_write(sa, 0x18, 0xFFFF'F000);  // 64-bit BAR straddling 4 GiB
  cfg_write(sa, 0x1C, 0xFFFF'FFFF);  // at the very top of 64-bit space
  EXPECT_TRUE(a->accesses.empty());
  cfg_write(sa, 0x1C, 0);
  cfg_write(sa, 0x18, 0xC800'0000);
  EXPECT_TRUE(mmio_reaches(*a, 0xC800'0000, 2));
}

TEST_F(PciHostBridgeTest, BusHoldsAtMost31Devices) {
  for (int i = 0; i < 31; ++i) {
    bridge->add_device(
        std::make_shared<TestPciDevice>(std::initializer_list<std::pair<uint8_t, PciBarInfo>>{}));
  }
  EXPECT_THROW(bridge->add_device(std::make_shared<TestPciDevice>(
                   std::initializer_list<std::pair<uint8_t, PciBarInfo>>{})),
               ConfigError);
  EXPECT_EQ(cfg_read(31, 0), 0x5678'1234u);
}

TEST_F(PciHostBridgeTest, BarWindowExhaustionIsAConfigError) {
  EXPECT_THROW(bridge->add_device(std::make_shared<TestPciDevice>(
                   std::initializer_list<std::pair<uint8_t, PciBarInfo>>{
                       {0, {PciBarKind::memory64, uint64_t{1} << 32, false}}})),
               ConfigError);
  // The failed device leaves nothing behind: its slot is free for the next.
  EXPECT_EQ(cfg_read(1, 0), 0xFFFF'FFFFu);
  auto device = std::make_shared<TestPciDevice>(std::initializer_list<std::pair<uint8_t, PciBarInfo>>{
      {0, {PciBarKind::memory32, 0x1000, false}}, {1, {PciBarKind::memory32, 1u << 30, false}}});
  EXPECT_THROW(bridge->add_device(device), ConfigError);  // 4 KiB fits, then 1 GiB aligned does not
  EXPECT_EQ(cfg_read(1, 0), 0xFFFF'FFFFu);
  EXPECT_EQ(mmio_read(kMmioWindowStart), 0xFFFF'FFFFu);  // the 4 KiB BAR was taken off again
  EXPECT_EQ(bridge->add_device(std::make_shared<TestPciDevice>(
                std::initializer_list<std::pair<uint8_t, PciBarInfo>>{})),
            1);
}

TEST(PciHostBridgeInstall, OverlapIsAConfigError) {
  Bus pio("pio"), mmio("mmio");
  auto first = PciHostBridge::create(pio, mmio, nullptr);
  first->install();
  auto second = PciHostBridge::create(pio, mmio, nullptr);
  EXPECT_THROW(second->install(), ConfigError);
  uint8_t v = 0;
  pio.read(0xCF9, std::as_writable_bytes(std::span(&v, 1)));  // no reset port: all-ones
  EXPECT_EQ(v, 0xFF);
}

}  // namespace
}  // namespace keel::devices
