#include "src/console/byte_size.h"

#include <gtest/gtest.h>

#include "keel/config_error.h"

namespace keel::console {
namespace {

std::string error_of(std::string_view text) {
  try {
    parse_byte_size(text, "--x");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ByteSize, UnitsAndPlainMebibytes) {
  EXPECT_EQ(parse_byte_size("64K", "--x"), 64u << 10);
  EXPECT_EQ(parse_byte_size("64k", "--x"), 64u << 10);
  EXPECT_EQ(parse_byte_size("512M", "--x"), 512u << 20);
  EXPECT_EQ(parse_byte_size("1G", "--x"), 1u << 30);
  EXPECT_EQ(parse_byte_size("2T", "--x"), 2ull << 40);
  EXPECT_EQ(parse_byte_size("3", "--x"), 3u << 20);
}

TEST(ByteSize, ErrorsNameTheFlagAndTheValue) {
  EXPECT_EQ(error_of("1.5G"), "invalid --x '1.5G': expected a size like 512M or 4G");
  EXPECT_EQ(error_of("1KB"), "invalid --x '1KB': expected a size like 512M or 4G");
  EXPECT_EQ(error_of("-1"), "invalid --x '-1': expected a size like 512M or 4G");
  EXPECT_EQ(error_of("0K"), "invalid --x '0K': the size must not be zero");
  EXPECT_EQ(error_of("17179869184T"), "invalid --x '17179869184T': too large");
  EXPECT_EQ(error_of("99999999999999999999"), "invalid --x '99999999999999999999': too large");
}

TEST(ByteSize, CappedPaths) {
  const CappedPath plain = parse_capped_path("/tmp/x.log", "--f");
  EXPECT_EQ(plain.path, "/tmp/x.log");
  EXPECT_EQ(plain.max_size, kDefaultOutputMaxSize);
  const CappedPath capped = parse_capped_path("x.log,max-size=512K", "--f");
  EXPECT_EQ(capped.path, "x.log");
  EXPECT_EQ(capped.max_size, 512u << 10);
}

TEST(ByteSize, Formatting) {
  EXPECT_EQ(format_byte_size(1ull << 30), "1 GiB");
  EXPECT_EQ(format_byte_size(64u << 10), "64 KiB");
  EXPECT_EQ(format_byte_size(1000), "1000 bytes");
  EXPECT_EQ(truncation_note("serial output", 1024),
            "[keel: serial output truncated at 1024 bytes (1 KiB, max-size); further output is dropped]\n");
}

}  // namespace
}  // namespace keel::console
