#include "src/import_xml/memory_units.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "keel/config_error.h"

namespace keel::import_xml {
namespace {

using ::testing::HasSubstr;

std::string error_of(auto&& call) {
  try {
    call();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(LibvirtSize, NoUnitIsKiB) { EXPECT_EQ(parse_libvirt_size("524288", ""), 512ull << 20); }

TEST(LibvirtSize, BinaryUnitsEitherSpelling) {
  EXPECT_EQ(parse_libvirt_size("4", "k"), 4096u);
  EXPECT_EQ(parse_libvirt_size("4", "KiB"), 4096u);
  EXPECT_EQ(parse_libvirt_size("2", "M"), 2ull << 20);
  EXPECT_EQ(parse_libvirt_size("2", "MiB"), 2ull << 20);
  EXPECT_EQ(parse_libvirt_size("3", "G"), 3ull << 30);
  EXPECT_EQ(parse_libvirt_size("3", "gib"), 3ull << 30);
  EXPECT_EQ(parse_libvirt_size("1", "TiB"), 1ull << 40);
  EXPECT_EQ(parse_libvirt_size("1", "P"), 1ull << 50);
  EXPECT_EQ(parse_libvirt_size("1", "EiB"), 1ull << 60);
}

TEST(LibvirtSize, DecimalUnits) {
  EXPECT_EQ(parse_libvirt_size("8", "KB"), 8000u);
  EXPECT_EQ(parse_libvirt_size("2", "MB"), 2000000u);
  EXPECT_EQ(parse_libvirt_size("1", "GB"), 1000000000u);
  EXPECT_EQ(parse_libvirt_size("1", "TB"), 1000000000000u);
}

TEST(LibvirtSize, Bytes) {
  EXPECT_EQ(parse_libvirt_size("4096", "b"), 4096u);
  EXPECT_EQ(parse_libvirt_size("4096", "bytes"), 4096u);
}

TEST(LibvirtSize, BlanksAroundTheNumberAreFine) { EXPECT_EQ(parse_libvirt_size("\n  1024 \n", "MiB"), 1ull << 30); }

TEST(LibvirtSize, BadUnitNamesTheUnitAndTheAllowedOnes) {
  EXPECT_THAT(error_of([] { parse_libvirt_size("1", "XB"); }),
              AllOf(HasSubstr("unit 'XB' is not known"), HasSubstr("allowed: b, bytes, KiB")));
  EXPECT_THAT(error_of([] { parse_libvirt_size("1", "Mo"); }), HasSubstr("unit 'Mo'"));
}

TEST(LibvirtSize, BadNumbers) {
  EXPECT_THAT(error_of([] { parse_libvirt_size("12a", "MiB"); }), HasSubstr("'12a' is not a number"));
  EXPECT_THAT(error_of([] { parse_libvirt_size("-1", "MiB"); }), HasSubstr("'-1' is not a number"));
  EXPECT_THAT(error_of([] { parse_libvirt_size("", "MiB"); }), HasSubstr("is not a number"));
  EXPECT_THAT(error_of([] { parse_libvirt_size("16", "EiB"); }), HasSubstr("does not fit in 64 bits"));
  EXPECT_THAT(error_of([] { parse_libvirt_size("99999999999999999999", ""); }), HasSubstr("does not fit"));
}

TEST(KeelMemoryText, LargestExactUnit) {
  EXPECT_EQ(keel_memory_text(2ull << 30), "2G");
  EXPECT_EQ(keel_memory_text(1536ull << 20), "1536M");
  EXPECT_EQ(keel_memory_text(4100ull << 10), "4100K");
}

TEST(KeelMemoryText, ZeroAndPartialPagesAreRefused) {
  EXPECT_THAT(error_of([] { keel_memory_text(0); }), HasSubstr("needs some memory"));
  EXPECT_THAT(error_of([] { keel_memory_text(1000000000); }), HasSubstr("1000000000 bytes is not a whole number of 4 KiB"));
  EXPECT_THAT(error_of([] { keel_memory_text(2048); }), HasSubstr("4 KiB pages"));
}

}  // namespace
}  // namespace keel::import_xml
