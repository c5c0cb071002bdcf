// What virtio-blk needs from the storage behind it: asynchronous operations
// identified by a caller-chosen tag, a pollable fd that becomes readable when
// some have finished, and a way to collect them. The io_uring backend
// (uring_backend.h) is the real one; tests inject faults with their own.
//
// Not thread-safe: the device calls it with its context lock held.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "keel/result.h"

namespace keel::virtio::blk {

struct BackendCompletion {
  uint64_t tag;
  int32_t result;  // bytes transferred (read/write), 0 (others), or -errno
};

class BlockBackend {
 public:
  virtual ~BlockBackend() = default;

  // Queue an operation; it is started by the next submit(). The iovecs
  // (and the memory they point at) must stay valid until its completion.
  // An error means it could not be queued (it will not complete).
  [[nodiscard]] virtual Result<void> read(uint64_t tag, std::span<const iovec> iov, uint64_t offset) noexcept = 0;
  // `write_through`: the data is durable (as after fdatasync) when the write
  // completes — for drivers that did not negotiate VIRTIO_BLK_F_FLUSH and so
  // assume a write-through device (Linux's virtblk_get_cache_mode).
  [[nodiscard]] virtual Result<void> write(uint64_t tag, std::span<const iovec> iov, uint64_t offset,
                                           bool write_through) noexcept = 0;
  // fdatasync, started only after every operation submitted before it has
  // finished, so every write completed before the flush is durable when it
  // completes (virtio 1.2, 5.2.6.2: "stable" writes).
  [[nodiscard]] virtual Result<void> flush(uint64_t tag) noexcept = 0;
  // Deallocate the range if the storage can; a no-op (success) otherwise.
  [[nodiscard]] virtual Result<void> discard(uint64_t tag, uint64_t offset, uint64_t length) noexcept = 0;
  // Afterwards the range reads as zeroes; may deallocate when `may_unmap`.
  [[nodiscard]] virtual Result<void> write_zeroes(uint64_t tag, uint64_t offset, uint64_t length,
                                                  bool may_unmap) noexcept = 0;

  // Start everything queued (one system call for the batch).
  [[nodiscard]] virtual Result<void> submit() noexcept = 0;
  // Readable (EPOLLIN) when completions may be waiting. reap() clears it.
  virtual int event_fd() const noexcept = 0;
  // Non-blocking: appends every finished operation to `out`.
  virtual void reap(std::vector<BackendCompletion>& out) noexcept = 0;
  // Blocks until at least one more operation has finished (if any are in
  // flight), then reaps like reap(). For reset: wait until in_flight() is 0.
  virtual void wait(std::vector<BackendCompletion>& out) noexcept = 0;
  // Operations submitted or queued and not yet reaped.
  virtual uint32_t in_flight() const noexcept = 0;
  // For reset: ask the storage to stop every operation in flight. Best
  // effort — an operation the kernel cannot stop (a read already copying)
  // still completes normally; a stopped one completes with -ECANCELED.
  // Either way each still produces exactly one completion, so the caller
  // goes on to wait() until in_flight() is 0.
  virtual void cancel_all() noexcept {}
};

}  // namespace keel::virtio::blk
