#include "src/firmware/aml.h"

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace keel::firmware::aml {
namespace {

TEST(Aml, PkgLengthOneByteBelow64) {
  EXPECT_EQ(pkg_length(0), (Bytes{0x01}));
  EXPECT_EQ(pkg_length(62), (Bytes{0x3F}));
}

TEST(Aml, PkgLengthTwoAndMoreBytes) {
  // body 63: total 65 = 0x41 with two length bytes
  EXPECT_EQ(pkg_length(63), (Bytes{0x41, 0x04}));
  // body 100: total 102 = 0x66
  EXPECT_EQ(pkg_length(100), (Bytes{0x46, 0x06}));
  // body 0xFFD: total 0xFFF, the largest two-byte length
  EXPECT_EQ(pkg_length(0xFFD), (Bytes{0x4F, 0xFF}));
  // body 0xFFE: total 0x1001 needs three bytes
  EXPECT_EQ(pkg_length(0xFFE), (Bytes{0x81, 0x00, 0x01}));
}

TEST(Aml, Integers) {
  EXPECT_EQ(integer(0), (Bytes{0x00}));
  EXPECT_EQ(integer(1), (Bytes{0x01}));
  EXPECT_EQ(integer(5), (Bytes{0x0A, 0x05}));
  EXPECT_EQ(integer(0x3F8), (Bytes{0x0B, 0xF8, 0x03}));
  EXPECT_EQ(integer(0xFEC00000), (Bytes{0x0C, 0x00, 0x00, 0xC0, 0xFE}));
  EXPECT_EQ(integer(0x1'0000'0000), (Bytes{0x0E, 0, 0, 0, 0, 1, 0, 0, 0}));
}

TEST(Aml, NameStrings) {
  EXPECT_EQ(name_string("_S5"), (Bytes{'_', 'S', '5', '_'}));
  EXPECT_EQ(name_string("\\_SB"), (Bytes{'\\', '_', 'S', 'B', '_'}));
  EXPECT_EQ(name_string("\\_SB.COM1"), (Bytes{'\\', 0x2E, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'}));
  EXPECT_EQ(name_string("A.B.C"), (Bytes{0x2F, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_'}));
  EXPECT_THROW(name_string("1ABC"), std::logic_error);
  EXPECT_THROW(name_string("ABCDE"), std::logic_error);
  EXPECT_THROW(name_string("ab"), std::logic_error);
}

TEST(Aml, EisaIdMatchesIasl) {
  // iasl encodes EisaId("PNP0501") as DWordConst 0x0105D041.
  EXPECT_EQ(eisa_id("PNP0501"), (Bytes{0x0C, 0x41, 0xD0, 0x05, 0x01}));
  EXPECT_EQ(eisa_id("PNP0B00"), (Bytes{0x0C, 0x41, 0xD0, 0x0B, 0x00}));
  EXPECT_THROW(eisa_id("pnp0501"), std::logic_error);
  EXPECT_THROW(eisa_id("PNP05"), std::logic_error);
}

TEST(Aml, S5Package) {
  const Bytes s5 = name("_S5", package({integer(5), integer(5), integer(0), integer(0)}));
  EXPECT_EQ(s5, (Bytes{0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00}));
}

TEST(Aml, S3PackageAsQemusPc) {
  // Name(_S3, Package(){One, One, Zero, Zero}): iasl's bytes for QEMU's \_S3.
  const Bytes s3 = name("_S3", package({integer(1), integer(1), integer(0), integer(0)}));
  EXPECT_EQ(s3, (Bytes{0x08, '_', 'S', '3', '_', 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00}));
}

TEST(Aml, PackageOfABuiltListMatchesPackage) {
  const std::vector<Bytes> elements = {integer(0x1FFFF), integer(0), integer(0), integer(17)};
  const Bytes built = package_of(elements);
  EXPECT_EQ(built, package({integer(0x1FFFF), integer(0), integer(0), integer(17)}));
  // Package(){0x0001FFFF, Zero, Zero, 0x11}, as iasl encodes a _PRT entry.
  EXPECT_EQ(built, (Bytes{0x12, 0x0B, 0x04, 0x0C, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00, 0x0A, 0x11}));
  const std::vector<Bytes> too_many(256, integer(0));
  EXPECT_THROW(package_of(too_many), std::logic_error);
}

TEST(Aml, StringIsNulTerminated) {
  EXPECT_EQ(string("ACPI0007"), (Bytes{0x0D, 'A', 'C', 'P', 'I', '0', '0', '0', '7', 0x00}));
}

TEST(Aml, ResourceTemplateForCom1) {
  // ResourceTemplate(){ IO(Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags(){4} }
  const Bytes crs = resource_template({io_port(0x3F8, 8), irq_no_flags(4)});
  const Bytes expected{0x11, 0x10, 0x0A, 0x0D,                                // Buffer, PkgLength 16, size 13
                       0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08,        // IO
                       0x22, 0x10, 0x00,                                      // IRQ 4
                       0x79, 0x00};                                           // End tag
  EXPECT_EQ(crs, expected);
  EXPECT_THROW(irq_no_flags(16), std::logic_error);
}

TEST(Aml, DeviceWrapsTermsWithExtendedOpcode) {
  const std::array terms = {name("_UID", integer(1))};
  const Bytes dev = device("COM1", terms);
  // 5B 82 PkgLength 'COM1' 08 '_UID' 01
  EXPECT_EQ(dev, (Bytes{0x5B, 0x82, 0x0B, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x01}));
}

// Byte layouts as iasl emits them for the same ASL (checked with iasl -d).
TEST(Aml, AddressSpaceDescriptorsForAHostBridge) {
  // WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0, 0, 1)
  EXPECT_EQ(word_bus_number(0, 0), (Bytes{0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00}));
  // WordIO(..., EntireRange, 0, 0x0D00, 0xFFFF, 0, 0xF300)
  EXPECT_EQ(word_io(0x0D00, 0xFFFF),
            (Bytes{0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0, 0, 0x00, 0x0D, 0xFF, 0xFF, 0, 0, 0x00, 0xF3}));
  // DWordMemory(..., Cacheable, ReadWrite, 0, 0xC0000000, 0xDFFFFFFF, 0, 0x20000000)
  EXPECT_EQ(dword_memory(0xC000'0000, 0xDFFF'FFFF),
            (Bytes{0x87, 0x17, 0x00, 0x00, 0x0C, 0x03, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xC0, 0xFF, 0xFF, 0xFF, 0xDF,
                   0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20}));
  // Memory32Fixed(ReadWrite, 0xE0000000, 0x100000)
  EXPECT_EQ(memory32_fixed(0xE000'0000, 0x10'0000),
            (Bytes{0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xE0, 0x00, 0x00, 0x10, 0x00}));
}

}  // namespace
}  // namespace keel::firmware::aml
