#include "virtio/blk/disk_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "keel/config_error.h"

namespace keel::virtio::blk {
namespace {

using ::testing::HasSubstr;

std::string error_of(std::string_view text) {
  try {
    parse_disk_spec(text);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(DiskSpec, PathOnlyHasDefaults) {
  DiskSpec spec = parse_disk_spec("path=/images/root.img");
  EXPECT_EQ(spec.path, "/images/root.img");
  EXPECT_FALSE(spec.readonly);
  EXPECT_FALSE(spec.direct);
  EXPECT_EQ(spec.serial, "");
}

TEST(DiskSpec, AllKeysInAnyOrder) {
  DiskSpec spec = parse_disk_spec("serial=abc123,direct=on,path=disk.raw,readonly=on");
  EXPECT_EQ(spec.path, "disk.raw");
  EXPECT_TRUE(spec.readonly);
  EXPECT_TRUE(spec.direct);
  EXPECT_EQ(spec.serial, "abc123");
  EXPECT_FALSE(parse_disk_spec("path=a,readonly=off,direct=off").readonly);
}

TEST(DiskSpec, SerialOfExactlyTwentyBytesIsAccepted) {
  EXPECT_EQ(parse_disk_spec("path=a,serial=01234567890123456789").serial, "01234567890123456789");
}

TEST(DiskSpec, RejectsEachBadInputWithAMessageNamingIt) {
  EXPECT_THAT(error_of("path=a,cache=none"), HasSubstr("unknown key 'cache'"));
  EXPECT_THAT(error_of("readonly=on"), HasSubstr("path=IMG is missing"));
  EXPECT_THAT(error_of(""), HasSubstr("path=IMG is missing"));
  EXPECT_THAT(error_of("path="), HasSubstr("path= is empty"));
  EXPECT_THAT(error_of("path=a,readonly=yes"), HasSubstr("readonly=yes is not valid"));
  EXPECT_THAT(error_of("path=a,direct=1"), HasSubstr("direct=1 is not valid"));
  EXPECT_THAT(error_of("path=a,serial=012345678901234567890"), HasSubstr("at most 20"));
  EXPECT_THAT(error_of("path=a,path=b"), HasSubstr("path= given twice"));
  EXPECT_THAT(error_of("path=a,readonly=on,readonly=off"), HasSubstr("readonly= given twice"));
  EXPECT_THAT(error_of("disk.img"), HasSubstr("not key=value"));
  // A comma inside a value splits it: the rest is not key=value.
  EXPECT_THAT(error_of("path=a,b.img"), HasSubstr("cannot contain commas"));
  EXPECT_THAT(error_of("path=a,"), HasSubstr("not key=value"));
}

TEST(DiskSpec, MessagesAreOneLine) {
  EXPECT_EQ(error_of("path=a,x=y").find('\n'), std::string::npos);
}

}  // namespace
}  // namespace keel::virtio::blk
