// BlockBackend on io_uring (liburing): readv/writev straight into guest RAM,
// fallocate for discard / write-zeroes, fsync(DATASYNC) for flush. The
// ring's completions are signalled on an eventfd the event loop watches.
#pragma once

#include <liburing.h>

#include <memory>
#include <vector>

#include "virtio/blk/block_backend.h"
#include "virtio/blk/disk_image.h"

namespace keel::virtio::blk {

class UringBackend final : public BlockBackend {
 public:
  // `entries`: the most operations in flight at once (the queue size); also
  // the number of discard / write-zeroes operations that can be in flight
  // (their state is pre-allocated: nothing allocates per request).
  // Tags must be below kFirstReservedTag.
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
  // IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_ANY (every request of
  // the ring), and no further fallback stages for what is in flight.
  void cancel_all() noexcept override;

  static constexpr uint64_t kFirstReservedTag = 1ull << 62;

  const DiskImage& image() const noexcept { return image_; }

 private:
  // Discard and write-zeroes step down when the storage says EOPNOTSUPP:
  // discard -> nothing (it is only a hint); write-zeroes -> punch hole (when
  // unmap is allowed) -> ZERO_RANGE -> plain writes of a zero buffer.
  enum class Stage { discard, punch_hole, zero_range, write_zeroes };
  struct Fallback {
    uint64_t tag = 0;         // the caller's
    Stage stage = Stage::discard;
    uint64_t offset = 0;
    uint64_t length = 0;
    uint64_t done = 0;        // bytes written in Stage::write_zeroes
    bool cancelled = false;   // cancel_all(): no further stage
    iovec tail{};             // the last, partial zero-writing piece
  };
  // A Fallback's SQEs carry kFallbackTag | slot, not the caller's tag.
  static constexpr uint64_t kFallbackTag = 1ull << 63;
  static constexpr uint64_t kCancelTag = kFallbackTag | (1ull << 62);  // the cancel SQE's own CQE

  UringBackend(DiskImage image) noexcept : image_(std::move(image)) {}
  io_uring_sqe* next_sqe() noexcept;
  // Takes a free slot for `fallback` and queues its first stage.
  Result<void> start_fallback(Fallback fallback) noexcept;
  Result<void> start_stage(uint32_t slot) noexcept;
  // Handles one CQE; true when the operation finished, with the caller's
  // `tag` and final `result`.
  bool advance(uint64_t& tag, int32_t& result) noexcept;

  DiskImage image_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int event_fd_ = -1;
  uint32_t in_flight_ = 0;
  std::vector<Fallback> fallbacks_;       // `entries` slots
  std::vector<uint32_t> free_fallbacks_;  // indices into fallbacks_
  std::byte* zero_buffer_ = nullptr;      // kZeroBufferBytes, 4 KiB aligned (O_DIRECT)
  std::vector<iovec> zero_iov_;           // kZeroChunkIovecs x the whole zero buffer, shared by all
};

}  // namespace keel::virtio::blk
