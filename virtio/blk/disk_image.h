// An opened disk image: a regular file or a block device, its size, and an
// advisory lock so two keel processes cannot both use it writable.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "virtio/blk/disk_spec.h"

namespace keel::virtio::blk {

class DiskImage {
 public:
  // Opens spec.path (O_RDWR, or O_RDONLY when readonly; O_DIRECT when
  // direct; O_CLOEXEC) and takes an OFD lock: a write lock for read-write,
  // a read lock for read-only (QEMU does the same), so any read-write user
  // excludes every other user. Throws ConfigError: missing/unreadable file,
  // not a regular file or block device, empty image, locked. A size that is
  // not a multiple of 512 is rounded down with a warning (as QEMU does).
  static DiskImage open(const DiskSpec& spec);

  DiskImage(DiskImage&& other) noexcept;
  DiskImage& operator=(DiskImage&& other) noexcept;
  DiskImage(const DiskImage&) = delete;
  DiskImage& operator=(const DiskImage&) = delete;
  ~DiskImage();

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }
  bool readonly() const noexcept { return readonly_; }
  // Whole 512-byte sectors the guest sees.
  uint64_t sectors() const noexcept { return sectors_; }
  bool is_block_device() const noexcept { return block_device_; }

 private:
  DiskImage(int fd, std::string path, bool readonly, uint64_t sectors, bool block_device) noexcept
      : fd_(fd), path_(std::move(path)), readonly_(readonly), sectors_(sectors), block_device_(block_device) {}

  int fd_ = -1;  // closing it drops the OFD lock
  std::string path_;
  bool readonly_ = false;
  uint64_t sectors_ = 0;
  bool block_device_ = false;
};

}  // namespace keel::virtio::blk
