#include "devices/pci/pci_config_space.h"

#include <gtest/gtest.h>

#include <vector>

#include "keel/config_error.h"

namespace keel::devices {
namespace {

using namespace pci_reg;

PciIdentity test_identity() {
  return PciIdentity{.vendor_id = 0x1AF4, .device_id = 0x1042, .revision = 3, .class_code = 0x010000,
                     .subsystem_vendor_id = 0x1AF4, .subsystem_id = 2, .interrupt_pin = 1};
}

uint32_t read32(const PciConfigSpace& c, uint16_t offset) {
  uint32_t v = 0;
  c.read(offset, std::as_writable_bytes(std::span(&v, 1)));
  return v;
}
uint16_t read16(const PciConfigSpace& c, uint16_t offset) {
  uint16_t v = 0;
  c.read(offset, std::as_writable_bytes(std::span(&v, 1)));
  return v;
}
uint8_t read8(const PciConfigSpace& c, uint16_t offset) {
  uint8_t v = 0;
  c.read(offset, std::as_writable_bytes(std::span(&v, 1)));
  return v;
}
void write32(PciConfigSpace& c, uint16_t offset, uint32_t v) { c.write(offset, std::as_bytes(std::span(&v, 1))); }
void write16(PciConfigSpace& c, uint16_t offset, uint16_t v) { c.write(offset, std::as_bytes(std::span(&v, 1))); }
void write8(PciConfigSpace& c, uint16_t offset, uint8_t v) { c.write(offset, std::as_bytes(std::span(&v, 1))); }

TEST(PciConfigSpace, IdentityFieldsAreReadOnly) {
  PciConfigSpace c(test_identity());
  EXPECT_EQ(read32(c, kVendorId), 0x1042'1AF4u);
  EXPECT_EQ(read32(c, kRevision & ~3), 0x0100'0003u);  // class 01/00/00, revision 3
  EXPECT_EQ(read8(c, kHeaderType), 0);
  EXPECT_EQ(read32(c, kSubsystemVendorId), 0x0002'1AF4u);
  for (uint16_t offset : {kVendorId, kRevision, kSubsystemVendorId, kCapabilitiesPointer, kExpansionRom}) {
    write32(c, offset & ~3, 0xFFFF'FFFF);
  }
  EXPECT_EQ(read32(c, kVendorId), 0x1042'1AF4u);
  EXPECT_EQ(read32(c, 0x08), 0x0100'0003u);
  EXPECT_EQ(read32(c, kSubsystemVendorId), 0x0002'1AF4u);
  EXPECT_EQ(read32(c, kExpansionRom), 0u);  // no ROM: size probe reads 0
  EXPECT_EQ(read8(c, kCapabilitiesPointer), 0);
}

TEST(PciConfigSpace, CommandKeepsOnlyImplementedBits) {
  PciConfigSpace c(test_identity());
  write16(c, kCommand, 0xFFFF);
  EXPECT_EQ(read16(c, kCommand), 0x0547);
  write16(c, kCommand, 0);
  EXPECT_EQ(read16(c, kCommand), 0);
  write8(c, kCommand, kCommandMemory);  // byte writes work too
  EXPECT_EQ(c.command(), kCommandMemory);
}

TEST(PciConfigSpace, StatusErrorBitsAreWriteOneToClear) {
  PciConfigSpace c(test_identity());
  c.set_dword(kCommand, uint32_t{0xF900 | kStatusCapabilities} << 16);
  EXPECT_EQ(read16(c, kStatus), 0xF910);
  write16(c, kStatus, 0x8000);  // clear detected parity error only
  EXPECT_EQ(read16(c, kStatus), 0x7910);
  write16(c, kStatus, 0);  // writing 0 changes nothing
  EXPECT_EQ(read16(c, kStatus), 0x7910);
  write16(c, kStatus, 0xFFFF);  // capabilities bit is read-only
  EXPECT_EQ(read16(c, kStatus), kStatusCapabilities);
  // A dword write to command/status clears status bits and sets command.
  c.set_dword(kCommand, uint32_t{0x0100} << 16);
  write32(c, kCommand, 0x0100'0002);
  EXPECT_EQ(read32(c, kCommand), 0x0000'0002u);
}

TEST(PciConfigSpace, InterruptLineWritablePinReadOnly) {
  PciConfigSpace c(test_identity());
  write16(c, kInterruptLine, 0xFFFF);
  EXPECT_EQ(read8(c, kInterruptLine), 0xFF);
  EXPECT_EQ(read8(c, kInterruptPin), 1);
  write8(c, kCacheLineSize, 0x10);
  EXPECT_EQ(read8(c, kCacheLineSize), 0x10);
}

TEST(PciConfigSpace, Memory32BarReportsSizeAndKeepsAlignedAddress) {
  PciConfigSpace c(test_identity());
  c.add_bar(0, {PciBarKind::memory32, 0x1000, false});
  c.add_bar(1, {PciBarKind::memory32, 0x100000, true});
  write32(c, kBar0, 0xFFFF'FFFF);
  EXPECT_EQ(read32(c, kBar0), 0xFFFF'F000u);
  write32(c, kBar0 + 4, 0xFFFF'FFFF);
  EXPECT_EQ(read32(c, kBar0 + 4), 0xFFF0'0008u);  // prefetchable bit stays
  write32(c, kBar0, 0xC000'1234);  // low bits below the size are dropped
  EXPECT_EQ(read32(c, kBar0), 0xC000'1000u);
  EXPECT_EQ(c.bar_address(0), 0xC000'1000u);
}

TEST(PciConfigSpace, Memory64BarPairSizesBothHalves) {
  PciConfigSpace c(test_identity());
  c.add_bar(2, {PciBarKind::memory64, uint64_t{1} << 33, true});
  EXPECT_EQ(read32(c, kBar0 + 8) & 0xF, 0xCu);  // 64-bit, prefetchable
  write32(c, kBar0 + 8, 0xFFFF'FFFF);
  write32(c, kBar0 + 12, 0xFFFF'FFFF);
  EXPECT_EQ(read32(c, kBar0 + 8), 0x0000'000Cu);
  EXPECT_EQ(read32(c, kBar0 + 12), 0xFFFF'FFFEu);  // 8 GiB
  write32(c, kBar0 + 8, 0);
  write32(c, kBar0 + 12, 0x4);
  EXPECT_EQ(c.bar_address(2), uint64_t{4} << 32);
  EXPECT_EQ(c.bar_layout()[3].kind, PciBarKind::memory64_upper);

  PciConfigSpace small(test_identity());
  small.add_bar(0, {PciBarKind::memory64, 0x4000, false});
  write32(small, kBar0, 0xFFFF'FFFF);
  write32(small, kBar0 + 4, 0xFFFF'FFFF);
  EXPECT_EQ(read32(small, kBar0), 0xFFFF'C004u);
  EXPECT_EQ(read32(small, kBar0 + 4), 0xFFFF'FFFFu);
}

TEST(PciConfigSpace, IoBarSizing) {
  PciConfigSpace c(test_identity());
  c.add_bar(4, {PciBarKind::io, 0x40, false});
  EXPECT_EQ(read32(c, kBar0 + 16), 1u);
  write32(c, kBar0 + 16, 0xFFFF'FFFF);
  EXPECT_EQ(read32(c, kBar0 + 16), 0xFFFF'FFC1u);
  write32(c, kBar0 + 16, 0xC07F);
  EXPECT_EQ(c.bar_address(4), 0xC040u);
}

TEST(PciConfigSpace, UnimplementedBarsReadZero) {
  PciConfigSpace c(test_identity());
  for (uint16_t bar = 0; bar < 6; ++bar) {
    write32(c, kBar0 + 4 * bar, 0xFFFF'FFFF);
    EXPECT_EQ(read32(c, kBar0 + 4 * bar), 0u);
  }
}

TEST(PciConfigSpace, DecodedBarsFollowCommandBits) {
  PciConfigSpace c(test_identity());
  c.add_bar(0, {PciBarKind::memory32, 0x1000, false});
  c.add_bar(1, {PciBarKind::io, 0x20, false});
  write32(c, kBar0, 0xC000'0000);
  write32(c, kBar0 + 4, 0xC000);
  EXPECT_FALSE(c.decoded_bars()[0]);
  EXPECT_FALSE(c.decoded_bars()[1]);
  write16(c, kCommand, kCommandMemory);
  ASSERT_TRUE(c.decoded_bars()[0]);
  EXPECT_EQ(*c.decoded_bars()[0], (PciBarRegion{false, 0xC000'0000, 0x1000}));
  EXPECT_FALSE(c.decoded_bars()[1]);
  write16(c, kCommand, kCommandIo);
  EXPECT_FALSE(c.decoded_bars()[0]);
  EXPECT_EQ(*c.decoded_bars()[1], (PciBarRegion{true, 0xC000, 0x20}));
}

TEST(PciConfigSpace, BadBarLayoutsAreConfigErrors) {
  PciConfigSpace c(test_identity());
  EXPECT_THROW(c.add_bar(6, {PciBarKind::memory32, 0x1000, false}), ConfigError);
  EXPECT_THROW(c.add_bar(5, {PciBarKind::memory64, 0x1000, false}), ConfigError);
  EXPECT_THROW(c.add_bar(0, {PciBarKind::memory32, 0x1001, false}), ConfigError);
  EXPECT_THROW(c.add_bar(0, {PciBarKind::memory32, 8, false}), ConfigError);
  EXPECT_THROW(c.add_bar(0, {PciBarKind::io, 512, false}), ConfigError);
  EXPECT_THROW(c.add_bar(0, {PciBarKind::memory64_upper, 0x1000, false}), ConfigError);
  c.add_bar(0, {PciBarKind::memory64, 0x1000, false});
  EXPECT_THROW(c.add_bar(1, {PciBarKind::memory32, 0x1000, false}), ConfigError);
}

// Walks the list like a guest: bounded, dword-aligned, within 0x40..0xFF.
std::vector<std::pair<uint8_t, uint8_t>> walk(const PciConfigSpace& c) {
  std::vector<std::pair<uint8_t, uint8_t>> found;
  uint8_t at = read8(c, kCapabilitiesPointer);
  for (int i = 0; at != 0 && i < 48; ++i) {
    EXPECT_EQ(at % 4, 0);
    EXPECT_GE(at, 0x40);
    found.push_back({at, read8(c, at)});
    at = read8(c, at + 1);
  }
  EXPECT_EQ(at, 0) << "list did not end";
  return found;
}

TEST(PciConfigSpace, CapabilityListIsWellFormed) {
  PciConfigSpace c(test_identity());
  EXPECT_EQ(read16(c, kStatus) & kStatusCapabilities, 0);
  const uint8_t body1[] = {1, 2, 3};  // odd length: next one realigns
  const uint8_t mask1[] = {0, 0xFF, 0x0F};
  const uint8_t body2[] = {9, 9, 9, 9, 9, 9};
  const uint8_t mask2[] = {0, 0, 0, 0, 0, 0};
  EXPECT_EQ(c.add_capability(0x09, body1, mask1), 0x40);
  EXPECT_EQ(c.add_capability(0x11, body2, mask2), 0x48);
  EXPECT_NE(read16(c, kStatus) & kStatusCapabilities, 0);
  const auto list = walk(c);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], std::make_pair(uint8_t{0x40}, uint8_t{0x09}));
  EXPECT_EQ(list[1], std::make_pair(uint8_t{0x48}, uint8_t{0x11}));
  // The header (id, next) is read-only; the body follows its mask.
  write32(c, 0x40, 0xFFFF'FFFF);
  EXPECT_EQ(read32(c, 0x40), 0xFF01'4809u);
  write32(c, 0x48, 0);
  EXPECT_EQ(read32(c, 0x48), 0x0909'0011u);
}

TEST(PciConfigSpace, CapabilitiesMustFitBelow0x100) {
  PciConfigSpace c(test_identity());
  std::vector<uint8_t> big(0xBE - 2, 0), mask(0xBE - 2, 0);
  EXPECT_EQ(c.add_capability(0x10, big, mask), 0x40);  // 0x40..0xFD
  const uint8_t one[] = {0}, one_mask[] = {0};
  EXPECT_THROW(c.add_capability(0x05, one, one_mask), ConfigError);
  const uint8_t two[] = {0, 0};
  EXPECT_THROW(c.add_capability(0x05, two, one_mask), ConfigError);  // mask length differs
}

TEST(PciConfigSpace, HostileAccessesAreHarmless) {
  PciConfigSpace c(test_identity());
  uint64_t v = 0;
  c.read(4095, std::as_writable_bytes(std::span(&v, 1)));  // crosses the end
  EXPECT_EQ(v, ~uint64_t{0});
  c.write(4095, std::as_bytes(std::span(&v, 1)));
  c.read(4096, std::as_writable_bytes(std::span(&v, 1)).first(1));
  c.write(0xFFFF, std::as_bytes(std::span(&v, 1)).first(4));
  EXPECT_EQ(read32(c, 0x100), 0u);  // extended space: nothing defined, reads 0
  write32(c, 0x100, 0xFFFF'FFFF);
  EXPECT_EQ(read32(c, 0x100), 0u);
  EXPECT_EQ(read32(c, 0xFFC), 0u);
}

}  // namespace
}  // namespace keel::devices
