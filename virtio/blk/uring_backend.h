// BlockBackend on io_uring (liburing): readv/writev straight into guest RAM,
// fallocate for discard / write-zeroes, fsync(DATASYNC) for flush. The
// ring's completions are signalled on an eventfd the event loop watches.
#pragma once

#include <liburing.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "virtio/blk/block_backend.h"
#include "virtio/blk/disk_image.h"

namespace keel::virtio::blk {

class UringBackend final : public BlockBackend {
 public:
  // `entries`: the most operations in flight at once (the queue size).
  // Throws ConfigError when io_uring cannot be set up (old kernel, seccomp,
  // io_uring_disabled sysctl, RLIMIT_MEMLOCK).
  static std::unique_ptr<UringBackend> create(DiskImage image, uint32_t entries);
  ~UringBackend() override;
  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;

  Result<void> read(uint64_t tag, std::span<const iovec> iov, uint64_t offset) noexcept override;
  Result<void> write(uint64_t tag, std::span<const iovec> iov, uint64_t offset, bool write_through) noexcept override;
  Result<void> flush(uint64_t tag) noexcept override;
  Result<void> discard(uint64_t tag, uint64_t offset, uint64_t length) noexcept override;
  Result<void> write_zeroes(uint64_t tag, uint64_t offset, uint64_t length, bool may_unmap) noexcept override;
  Result<void> submit() noexcept override;
  int event_fd() const noexcept override { return event_fd_; }
  void reap(std::vector<BackendCompletion>& out) noexcept override;
  void wait(std::vector<BackendCompletion>& out) noexcept override;
  uint32_t in_flight() const noexcept override { return in_flight_; }

  const DiskImage& image() const noexcept { return image_; }

 private:
  // Discard and write-zeroes step down when the storage says EOPNOTSUPP:
  // discard -> nothing (it is only a hint); write-zeroes -> punch hole (when
  // unmap is allowed) -> ZERO_RANGE -> plain writes of a zero buffer.
  enum class Stage { discard, punch_hole, zero_range, write_zeroes };
  struct Fallback {
    Stage stage;
    uint64_t offset;
    uint64_t length;
    uint64_t done = 0;        // bytes written in Stage::write_zeroes
    std::vector<iovec> iov;   // the current zero-writing chunk
  };

  UringBackend(DiskImage image) noexcept : image_(std::move(image)) {}
  io_uring_sqe* next_sqe() noexcept;
  // Records `fallback` under `tag` and queues its first stage.
  Result<void> start_fallback(uint64_t tag, Fallback fallback) noexcept;
  Result<void> start_stage(uint64_t tag, Fallback& fallback) noexcept;
  // Handles one CQE of a Fallback op; true when it finished with `result`.
  bool advance_fallback(uint64_t tag, int32_t& result) noexcept;

  DiskImage image_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int event_fd_ = -1;
  uint32_t in_flight_ = 0;
  std::unordered_map<uint64_t, Fallback> fallbacks_;
  std::byte* zero_buffer_ = nullptr;  // kZeroBufferBytes, 4 KiB aligned (O_DIRECT)
};

}  // namespace keel::virtio::blk
