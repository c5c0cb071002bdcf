#include "virtio/blk/disk_image.h"

#include <fcntl.h>
#include <linux/fs.h>  // BLKGETSIZE64
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <utility>

#include "keel/config_error.h"
#include "virtio/blk/blk_spec.h"

namespace keel::virtio::blk {
namespace {

[[noreturn]] void fail_errno(const std::string& path, int error) {
  throw ConfigError(fmt::format("disk '{}': {}", path, std::strerror(error)));
}

// OFD locks (F_OFD_SETLK) belong to the open file description, not the
// process, so they conflict even between two opens in one process and are
// released when the last fd of the description closes.
void lock_image(int fd, const std::string& path, bool readonly) {
  struct flock lock {};
  lock.l_type = readonly ? F_RDLCK : F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;  // the whole file, however it grows
  if (fcntl(fd, F_OFD_SETLK, &lock) == 0) return;
  int error = errno;
  if (error == EAGAIN || error == EACCES) {
    throw ConfigError(fmt::format("disk '{}' is locked by another process (is another VM using it?)", path));
  }
  fail_errno(path, error);
}

}  // namespace

DiskImage DiskImage::open(const DiskSpec& spec) {
  int flags = (spec.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (spec.direct) flags |= O_DIRECT;
  int fd = ::open(spec.path.c_str(), flags);
  if (fd < 0) fail_errno(spec.path, errno);
  // From here on the fd is owned by `image`, which closes it if we throw.
  DiskImage image(fd, spec.path, spec.readonly, 0, false);

  struct stat info {};
  if (fstat(fd, &info) != 0) fail_errno(spec.path, errno);
  uint64_t size_bytes = 0;
  if (S_ISREG(info.st_mode)) {
    size_bytes = static_cast<uint64_t>(info.st_size);
  } else if (S_ISBLK(info.st_mode)) {
    if (ioctl(fd, BLKGETSIZE64, &size_bytes) != 0) fail_errno(spec.path, errno);
    image.block_device_ = true;
  } else {
    throw ConfigError(fmt::format("disk '{}': not a regular file or block device", spec.path));
  }
  lock_image(fd, spec.path, spec.readonly);

  if (size_bytes < kSectorSize) {
    throw ConfigError(fmt::format("disk '{}': image is empty (smaller than one 512-byte sector)", spec.path));
  }
  if (size_bytes % kSectorSize != 0) {
    spdlog::warn("disk '{}': size {} is not a multiple of 512; the last {} bytes are not visible to the guest",
                 spec.path, size_bytes, size_bytes % kSectorSize);
  }
  image.sectors_ = size_bytes / kSectorSize;
  return image;
}

DiskImage::DiskImage(DiskImage&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      readonly_(other.readonly_),
      sectors_(other.sectors_),
      block_device_(other.block_device_) {}

DiskImage& DiskImage::operator=(DiskImage&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    readonly_ = other.readonly_;
    sectors_ = other.sectors_;
    block_device_ = other.block_device_;
  }
  return *this;
}

DiskImage::~DiskImage() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace keel::virtio::blk
