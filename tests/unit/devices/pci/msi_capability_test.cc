#include "devices/pci/msi_capability.h"

#include <gtest/gtest.h>

#include "tests/support/fake_interrupts.h"

namespace keel::devices {
namespace {

using testing::FakeInterruptController;
using M = MsiCapability;

class MsiCapabilityTest : public ::testing::Test {
 protected:
  MsiCapabilityTest() : msi(config, interrupts), cap(msi.capability_offset()) {}

  void write(uint16_t reg, uint32_t value, size_t size = 4) {
    const uint16_t offset = static_cast<uint16_t>(cap + reg);
    config.write(offset, std::as_bytes(std::span(&value, 1)).first(size));
    msi.config_written(offset, size);
  }
  uint32_t read(uint16_t reg, size_t size = 4) {
    uint32_t value = 0;
    const uint16_t offset = static_cast<uint16_t>(cap + reg);
    auto bytes = std::as_writable_bytes(std::span(&value, 1)).first(size);
    config.read(offset, bytes);
    msi.overlay_read(offset, bytes);
    return value;
  }
  uint16_t control() { return static_cast<uint16_t>(read(0) >> 16); }
  // Linux's order: mask, program, enable, unmask.
  void program(uint64_t address, uint16_t data) {
    write(M::kMaskBits, 1);
    write(M::kAddressLow, static_cast<uint32_t>(address));
    write(M::kAddressHigh, static_cast<uint32_t>(address >> 32));
    write(M::kData, data);
  }

  PciConfigSpace config{PciIdentity{.vendor_id = 0x1AF4, .device_id = 0x1042}};
  FakeInterruptController interrupts;
  MsiCapability msi;
  uint16_t cap;
};

TEST_F(MsiCapabilityTest, CapabilityStructureAndWritableBits) {
  EXPECT_EQ(config.read_dword(pci_reg::kCapabilitiesPointer) & 0xFF, cap);
  EXPECT_EQ(read(0) & 0xFF, 0x05u);
  EXPECT_EQ(control(), M::kControl64Bit | M::kControlPerVectorMasking) << "one vector, disabled";
  EXPECT_EQ(interrupts.vector_count(), 1u);
  write(0, 0xFFFF'FFFF);
  EXPECT_EQ(control(), M::kControl64Bit | M::kControlPerVectorMasking | M::kControlEnable)
      << "multiple message capable/enable stay 0";
  EXPECT_EQ(read(0) & 0xFF, 0x05u);
  for (uint16_t reg : {M::kAddressLow, M::kAddressHigh, M::kData, M::kMaskBits, M::kPendingBits}) {
    write(reg, 0xFFFF'FFFF);
  }
  EXPECT_EQ(read(M::kAddressLow), 0xFFFF'FFFCu) << "bits 1:0 read 0";
  EXPECT_EQ(read(M::kAddressHigh), 0xFFFF'FFFFu);
  EXPECT_EQ(read(M::kData), 0xFFFFu) << "16-bit data";
  EXPECT_EQ(read(M::kMaskBits), 1u) << "one mask bit";
  EXPECT_EQ(read(M::kPendingBits), 0u) << "pending bits are read-only";
}

TEST_F(MsiCapabilityTest, DeliversOnlyWhenEnabledAndUnmasked) {
  program(0xFEE0'0000, 0x41);
  msi.notify();
  EXPECT_EQ(interrupts.vector(0).delivery_count(), 0u);
  EXPECT_TRUE(msi.pending());
  EXPECT_EQ(read(M::kPendingBits), 1u);
  EXPECT_EQ(read(M::kPendingBits, 1), 1u);
  EXPECT_EQ(read(M::kMaskBits + 2, 2), 0u) << "a read that ends before the pending bits";
  write(0, M::kControlEnable << 16);
  EXPECT_EQ(interrupts.vector(0).delivery_count(), 0u) << "still masked";
  write(M::kMaskBits, 0);
  ASSERT_EQ(interrupts.vector(0).delivery_count(), 1u) << "pending delivered on unmask";
  EXPECT_EQ(interrupts.vector(0).deliveries()[0].message, (MsiMessage{0xFEE0'0000, 0x41}));
  EXPECT_FALSE(msi.pending());
  EXPECT_EQ(read(M::kPendingBits), 0u);
  msi.notify();
  EXPECT_EQ(interrupts.vector(0).delivery_count(), 2u);
  msi.notify(1);  // no such vector
  EXPECT_EQ(interrupts.vector(0).delivery_count(), 2u);
  write(0, 0);
  msi.notify();
  EXPECT_EQ(interrupts.vector(0).delivery_count(), 2u);
  EXPECT_TRUE(msi.pending());
}

TEST_F(MsiCapabilityTest, MessageRoutedOnlyWhenUnmasked) {
  program(0x1'FEE0'1000, 0x42);
  EXPECT_EQ(interrupts.vector(0).message_updates(), 0);
  write(M::kMaskBits, 0);
  EXPECT_EQ(interrupts.vector(0).message_updates(), 1);
  EXPECT_EQ(interrupts.vector(0).message(), (MsiMessage{0x1'FEE0'1000, 0x42}));
  write(0, M::kControlEnable << 16);  // no message change, no new route
  EXPECT_EQ(interrupts.vector(0).message_updates(), 1);
  write(M::kData, 0x43);
  EXPECT_EQ(interrupts.vector(0).message(), (MsiMessage{0x1'FEE0'1000, 0x43}));
}

TEST_F(MsiCapabilityTest, ResetClearsEverything) {
  program(0xFEE0'0000, 0x41);
  write(0, M::kControlEnable << 16);
  msi.notify();
  msi.reset();
  EXPECT_FALSE(msi.enabled());
  EXPECT_FALSE(msi.pending());
  EXPECT_EQ(control(), M::kControl64Bit | M::kControlPerVectorMasking);
  EXPECT_EQ(read(M::kAddressLow) | read(M::kAddressHigh) | read(M::kData) | read(M::kMaskBits), 0u);
  write(0, M::kControlEnable << 16);
  EXPECT_EQ(interrupts.vector(0).delivery_count(), 0u);
}

}  // namespace
}  // namespace keel::devices
