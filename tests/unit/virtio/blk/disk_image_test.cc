#include "virtio/blk/disk_image.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "keel/config_error.h"
#include "tests/unit/virtio/blk/temp_image.h"

namespace keel::virtio::blk {
namespace {

using ::testing::HasSubstr;

std::string error_of(const DiskSpec& spec) {
  try {
    DiskImage::open(spec);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(DiskImage, OpensARegularFile) {
  testing::TempImage file(8 * 512);
  DiskImage image = DiskImage::open({file.path(), false, false, ""});
  EXPECT_GE(image.fd(), 0);
  EXPECT_EQ(image.sectors(), 8u);
  EXPECT_FALSE(image.readonly());
  EXPECT_FALSE(image.is_block_device());
}

TEST(DiskImage, RoundsASizeDownToWholeSectors) {
  testing::TempImage file(3 * 512 + 100);
  EXPECT_EQ(DiskImage::open({file.path(), false, false, ""}).sectors(), 3u);
}

TEST(DiskImage, MissingFileIsOneLineNamingIt) {
  std::string message = error_of({"/nonexistent/keel-disk.img", false, false, ""});
  EXPECT_THAT(message, HasSubstr("disk '/nonexistent/keel-disk.img': No such file or directory"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(DiskImage, RejectsADirectory) {
  testing::TempImage file(512);
  std::string directory = std::filesystem::path(file.path()).parent_path();
  EXPECT_THAT(error_of({directory, false, false, ""}), HasSubstr("Is a directory"));
  // Read-only, a directory opens; the type check refuses it.
  EXPECT_THAT(error_of({directory, true, false, ""}), HasSubstr("not a regular file or block device"));
}

TEST(DiskImage, RejectsAnEmptyImage) {
  testing::TempImage empty(0);
  EXPECT_THAT(error_of({empty.path(), false, false, ""}), HasSubstr("empty"));
  testing::TempImage tiny(511);
  EXPECT_THAT(error_of({tiny.path(), false, false, ""}), HasSubstr("empty"));
}

TEST(DiskImage, ASecondWritableOpenIsLockedOut) {
  testing::TempImage file(4096);
  std::optional<DiskImage> first = DiskImage::open({file.path(), false, false, ""});
  // OFD locks conflict between open file descriptions even in one process.
  EXPECT_THAT(error_of({file.path(), false, false, ""}), HasSubstr("is locked by another process"));
  EXPECT_THAT(error_of({file.path(), true, false, ""}), HasSubstr("is locked by another process"));
  first.reset();  // closing drops the lock
  EXPECT_NO_THROW(DiskImage::open({file.path(), false, false, ""}));
}

TEST(DiskImage, ReadOnlyOpensShareButExcludeAWriter) {
  testing::TempImage file(4096);
  DiskImage first = DiskImage::open({file.path(), true, false, ""});
  EXPECT_TRUE(first.readonly());
  EXPECT_NO_THROW(DiskImage::open({file.path(), true, false, ""}));
  EXPECT_THAT(error_of({file.path(), false, false, ""}), HasSubstr("is locked by another process"));
}

TEST(DiskImage, MoveKeepsTheFdAndTheLock) {
  testing::TempImage file(4096);
  DiskImage first = DiskImage::open({file.path(), false, false, ""});
  int fd = first.fd();
  DiskImage moved = std::move(first);
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_THAT(error_of({file.path(), false, false, ""}), HasSubstr("locked"));
}

}  // namespace
}  // namespace keel::virtio::blk
