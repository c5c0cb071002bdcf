#include "devices/pci/msix_capability.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "keel/config_error.h"
#include "tests/support/fake_interrupts.h"

namespace keel::devices {
namespace {

using testing::FakeInterruptController;
using testing::FakeMsiVector;

constexpr uint8_t kBar = 1;
constexpr uint32_t kTable = 0x1000;
constexpr uint32_t kPba = 0x2000;
constexpr uint16_t kVectors = 3;

class MsixCapabilityTest : public ::testing::Test {
 protected:
  MsixCapabilityTest() {
    config.add_bar(kBar, PciBarInfo{PciBarKind::memory32, 0x4000, false});
    msix.emplace(config, interrupts, kVectors, kBar, kTable, kBar, kPba);
    cap = msix->capability_offset();
  }

  // A guest config write forwarded by the owner.
  void config_write(uint16_t offset, uint32_t value, size_t size) {
    config.write(offset, std::as_bytes(std::span(&value, 1)).first(size));
    msix->config_written(offset, size);
  }
  uint16_t control() { return static_cast<uint16_t>(config.read_dword(cap) >> 16); }
  void set_control(uint16_t value) { config_write(static_cast<uint16_t>(cap + 2), value, 2); }

  uint64_t read(uint64_t offset, size_t size, uint8_t bar = kBar) {
    uint64_t value = 0xDEAD'BEEF'DEAD'BEEF;
    EXPECT_TRUE(msix->bar_read(bar, offset, std::as_writable_bytes(std::span(&value, 1)).first(size)));
    if (size < 8) value &= (uint64_t{1} << (8 * size)) - 1;
    return value;
  }
  void write(uint64_t offset, uint64_t value, size_t size) {
    EXPECT_TRUE(msix->bar_write(kBar, offset, std::as_bytes(std::span(&value, 1)).first(size)));
  }
  uint64_t entry(uint16_t vector, unsigned dword) { return kTable + 16 * vector + 4 * dword; }
  // What Linux does: program address and data while masked, then unmask.
  void program(uint16_t vector, uint64_t address, uint32_t data) {
    write(entry(vector, 0), address, 8);
    write(entry(vector, 2), data, 4);
  }
  void unmask(uint16_t vector) { write(entry(vector, 3), 0, 4); }
  void mask(uint16_t vector) { write(entry(vector, 3), 1, 4); }
  FakeMsiVector& vec(uint16_t vector) { return interrupts.vector(vector); }

  PciConfigSpace config{PciIdentity{.vendor_id = 0x1AF4, .device_id = 0x1042}};
  FakeInterruptController interrupts;
  std::optional<MsixCapability> msix;
  uint16_t cap = 0;
};

TEST_F(MsixCapabilityTest, CapabilityStructure) {
  EXPECT_EQ(config.read_dword(pci_reg::kCapabilitiesPointer) & 0xFF, cap);
  const uint32_t header = config.read_dword(cap);
  EXPECT_EQ(header & 0xFF, 0x11u);
  EXPECT_EQ(header >> 16, kVectors - 1u) << "table size is N-1, enable and function mask clear";
  EXPECT_EQ(config.read_dword(cap + 4), kTable | kBar);
  EXPECT_EQ(config.read_dword(cap + 8), kPba | kBar);
  EXPECT_EQ(interrupts.vector_count(), kVectors);
  EXPECT_EQ(msix->table_size(), 48u);
  EXPECT_EQ(msix->pba_size(), 8u);
}

TEST_F(MsixCapabilityTest, OnlyEnableAndFunctionMaskAreWritable) {
  config_write(cap, 0xFFFF'FFFF, 4);
  EXPECT_EQ(control(), 0xC000u | (kVectors - 1));
  EXPECT_TRUE(msix->enabled());
  config_write(cap + 4, 0xFFFF'FFFF, 4);
  config_write(cap + 8, 0, 4);
  EXPECT_EQ(config.read_dword(cap + 4), kTable | kBar);
  EXPECT_EQ(config.read_dword(cap + 8), kPba | kBar);
  set_control(0);
  EXPECT_EQ(control(), kVectors - 1u);
  EXPECT_FALSE(msix->enabled());
}

TEST_F(MsixCapabilityTest, TableResetValuesAndReadOnlyBits) {
  for (uint16_t v = 0; v < kVectors; ++v) {
    EXPECT_EQ(read(entry(v, 0), 8), 0u);
    EXPECT_EQ(read(entry(v, 2), 4), 0u);
    EXPECT_EQ(read(entry(v, 3), 4), 1u) << "entries start masked";
  }
  write(entry(1, 0), 0xFFFF'FFFF, 4);
  write(entry(1, 1), 0x1234'5678, 4);
  write(entry(1, 2), 0xABCD'0042, 4);
  write(entry(1, 3), 0xFFFF'FFFE, 4);
  EXPECT_EQ(read(entry(1, 0), 4), 0xFFFF'FFFCu) << "address bits 1:0 read 0";
  EXPECT_EQ(read(entry(1, 0), 8), 0x1234'5678'FFFF'FFFCu);
  EXPECT_EQ(read(entry(1, 2), 8), 0xABCD'0042u) << "reserved vector control bits read 0; unmasked";
  EXPECT_EQ(read(entry(0, 0), 8), 0u) << "other entries untouched";
}

TEST_F(MsixCapabilityTest, MisalignedAndOddSizedAccessesReadZeroAndAreIgnored) {
  write(entry(0, 0), 0xFEE0'0000, 4);
  EXPECT_EQ(read(entry(0, 0) + 1, 4), 0u);
  EXPECT_EQ(read(entry(0, 0), 2), 0u);
  EXPECT_EQ(read(entry(0, 0), 1), 0u);
  EXPECT_EQ(read(entry(0, 1), 8), 0u) << "a qword must be 8-byte aligned";
  write(entry(0, 0) + 2, 0xFFFF, 2);
  write(entry(0, 1), ~uint64_t{0}, 8);
  write(entry(0, 3) + 1, 0, 1);
  EXPECT_EQ(read(entry(0, 0), 8), 0xFEE0'0000u);
  EXPECT_EQ(read(entry(0, 3), 4), 1u);
  // An access straddling the end of the table belongs to it and is dropped.
  EXPECT_EQ(read(kTable + 16 * kVectors - 4, 8), 0u);
}

TEST_F(MsixCapabilityTest, AccessesOutsideTableAndPbaAreNotClaimed) {
  std::array<std::byte, 4> data{};
  EXPECT_FALSE(msix->bar_read(kBar, 0, data));
  EXPECT_FALSE(msix->bar_read(kBar, kTable + 16 * kVectors, data));
  EXPECT_FALSE(msix->bar_read(kBar, kPba + 8, data));
  EXPECT_FALSE(msix->bar_read(0, kTable, data)) << "other BAR";
  EXPECT_FALSE(msix->bar_write(kBar, kTable - 4, data));
  EXPECT_TRUE(msix->bar_read(kBar, kTable - 2, data)) << "overlaps the table";
}

TEST_F(MsixCapabilityTest, MaskedNotifySetsPendingBitAndUnmaskDeliversOnce) {
  set_control(MsixCapability::kControlEnable);
  program(2, 0xFEE0'0000, 0x41);
  msix->notify(2);
  EXPECT_EQ(vec(2).delivery_count(), 0u);
  EXPECT_EQ(read(kPba, 8), 0b100u);
  EXPECT_EQ(read(kPba, 4), 0b100u);
  EXPECT_EQ(read(kPba + 4, 4), 0u);
  msix->notify(2);  // still one pending bit
  unmask(2);
  ASSERT_EQ(vec(2).delivery_count(), 1u);
  EXPECT_EQ(vec(2).deliveries()[0].message, (MsiMessage{0xFEE0'0000, 0x41}));
  EXPECT_EQ(read(kPba, 8), 0u);
  unmask(2);  // writing the same control again delivers nothing more
  EXPECT_EQ(vec(2).delivery_count(), 1u);
  msix->notify(2);
  EXPECT_EQ(vec(2).delivery_count(), 2u);
  EXPECT_EQ(vec(0).delivery_count() + vec(1).delivery_count(), 0u);
}

TEST_F(MsixCapabilityTest, PbaIsReadOnly) {
  set_control(MsixCapability::kControlEnable);
  msix->notify(0);
  write(kPba, 0, 8);
  write(kPba, 0xFF, 4);
  EXPECT_EQ(read(kPba, 8), 1u);
}

TEST_F(MsixCapabilityTest, FunctionMaskHoldsEveryVector) {
  set_control(MsixCapability::kControlEnable | MsixCapability::kControlFunctionMask);
  program(0, 0xFEE0'0000, 0x30);
  program(1, 0xFEE0'1000, 0x31);
  unmask(0);
  unmask(1);
  msix->notify(0);
  msix->notify(1);
  EXPECT_EQ(vec(0).delivery_count() + vec(1).delivery_count(), 0u);
  EXPECT_EQ(read(kPba, 8), 0b11u);
  set_control(MsixCapability::kControlEnable);
  EXPECT_EQ(vec(0).delivery_count(), 1u);
  EXPECT_EQ(vec(1).delivery_count(), 1u);
  EXPECT_EQ(read(kPba, 8), 0u);
}

TEST_F(MsixCapabilityTest, NothingDeliveredWhileDisabled) {
  program(0, 0xFEE0'0000, 0x30);
  unmask(0);
  msix->notify(0);
  EXPECT_EQ(vec(0).delivery_count(), 0u);
  EXPECT_EQ(read(kPba, 8), 1u);
  set_control(MsixCapability::kControlEnable);
  EXPECT_EQ(vec(0).delivery_count(), 1u);
  set_control(0);
  msix->notify(0);
  EXPECT_EQ(vec(0).delivery_count(), 1u);
}

TEST_F(MsixCapabilityTest, MessageRoutedOnlyWhenUnmasked) {
  set_control(MsixCapability::kControlEnable);
  program(0, 0xFEE0'0000, 0x30);
  EXPECT_EQ(vec(0).message_updates(), 0) << "masked: nothing staged";
  unmask(0);
  EXPECT_EQ(vec(0).message_updates(), 1);
  EXPECT_EQ(vec(0).message(), (MsiMessage{0xFEE0'0000, 0x30}));
  write(entry(0, 2), 0x31, 4);  // changed while unmasked
  EXPECT_EQ(vec(0).message_updates(), 2);
  EXPECT_EQ(vec(0).message(), (MsiMessage{0xFEE0'0000, 0x31}));
  write(entry(0, 2), 0x31, 4);  // the same message again
  EXPECT_EQ(vec(0).message_updates(), 2);
  mask(0);
  program(0, 0x1'FEE0'2000, 0x32);
  EXPECT_EQ(vec(0).message_updates(), 2);
  unmask(0);
  EXPECT_EQ(vec(0).message_updates(), 3);
  EXPECT_EQ(vec(0).message(), (MsiMessage{0x1'FEE0'2000, 0x32}));
  msix->notify(0);
  ASSERT_EQ(vec(0).delivery_count(), 1u);
  EXPECT_EQ(vec(0).deliveries()[0].message.data, 0x32u);
}

TEST_F(MsixCapabilityTest, OutOfRangeVectorIsIgnored) {
  set_control(MsixCapability::kControlEnable);
  msix->notify(kVectors);
  msix->notify(0xFFFF);
  EXPECT_EQ(read(kPba, 8), 0u);
}

TEST_F(MsixCapabilityTest, ResetMasksClearsAndDisables) {
  set_control(MsixCapability::kControlEnable | MsixCapability::kControlFunctionMask);
  program(1, 0xFEE0'0000, 0x30);
  unmask(1);
  msix->notify(1);
  msix->reset();
  EXPECT_FALSE(msix->enabled());
  EXPECT_EQ(control(), kVectors - 1u);
  EXPECT_EQ(read(entry(1, 0), 8), 0u);
  EXPECT_EQ(read(entry(1, 2), 8), uint64_t{1} << 32);
  EXPECT_EQ(read(kPba, 8), 0u);
  set_control(MsixCapability::kControlEnable);
  EXPECT_EQ(vec(1).delivery_count(), 0u) << "the pending bit died with the reset";
  // After reset the same message is routed again when unmasked.
  const int updates = vec(1).message_updates();
  program(1, 0xFEE0'0000, 0x30);
  unmask(1);
  EXPECT_EQ(vec(1).message_updates(), updates + 1);
}

TEST_F(MsixCapabilityTest, ConcurrentNotifyAndUnmaskLoseNothing) {
  // Each notify is either delivered directly or left pending and delivered
  // by the unmask: with the unmask last, every vector fires at least once.
  set_control(MsixCapability::kControlEnable);
  program(0, 0xFEE0'0000, 0x30);
  std::thread notifier([&] {
    for (int i = 0; i < 1000; ++i) msix->notify(0);
  });
  for (int i = 0; i < 100; ++i) {
    unmask(0);
    mask(0);
  }
  notifier.join();
  unmask(0);
  EXPECT_GE(vec(0).delivery_count(), 1u);
  EXPECT_EQ(read(kPba, 8), 0u);
}

TEST(MsixCapabilityConfig, RejectsBadLayouts) {
  FakeInterruptController interrupts;
  PciConfigSpace config{PciIdentity{}};
  config.add_bar(0, PciBarInfo{PciBarKind::memory32, 0x1000, false});
  config.add_bar(1, PciBarInfo{PciBarKind::io, 0x40, false});
  EXPECT_THROW(MsixCapability(config, interrupts, 0, 0, 0, 0, 0x800), ConfigError);
  EXPECT_THROW(MsixCapability(config, interrupts, 2049, 0, 0, 0, 0x800), ConfigError);
  EXPECT_THROW(MsixCapability(config, interrupts, 4, 0, 4, 0, 0x800), ConfigError) << "table not 8-aligned";
  EXPECT_THROW(MsixCapability(config, interrupts, 4, 0, 0, 0, 0x30), ConfigError) << "PBA inside the table";
  EXPECT_THROW(MsixCapability(config, interrupts, 4, 1, 0, 0, 0x800), ConfigError) << "I/O BAR";
  EXPECT_THROW(MsixCapability(config, interrupts, 4, 2, 0, 0, 0x800), ConfigError) << "undeclared BAR";
  EXPECT_THROW(MsixCapability(config, interrupts, 4, 0, 0xFF8, 0, 0x800), ConfigError) << "table past the BAR";
  EXPECT_THROW(MsixCapability(config, interrupts, 4, 0, 0, 6, 0x800), ConfigError);
  MsixCapability ok(config, interrupts, 64, 0, 0, 0, 0x400);
  EXPECT_EQ(ok.pba_size(), 8u);
}

}  // namespace
}  // namespace keel::devices
