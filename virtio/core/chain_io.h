// Moving bytes between keel and a descriptor chain's buffers: sequential
// readers/writers over the readable / writable halves (for headers and
// small payloads) and host iovecs for bulk I/O (io_uring reads straight into
// guest RAM). Every range was checked by Virtqueue::pop(), and is checked
// again through GuestMemory, so a racing guest cannot widen it.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "keel/guest_memory.h"
#include "keel/result.h"
#include "virtio/core/virtqueue.h"

namespace keel::virtio {

class ChainReader {
 public:
  ChainReader(const GuestMemory& memory, std::span<const GuestBuffer> buffers) noexcept;
  // Copies exactly out.size() bytes; Errc::out_of_bounds when fewer remain.
  Result<void> read(std::span<std::byte> out) noexcept;
  Result<void> skip(uint64_t count) noexcept;
  uint64_t remaining() const noexcept;

 private:
  const GuestMemory& memory_;
  std::span<const GuestBuffer> buffers_;
  size_t index_ = 0;
  uint64_t offset_ = 0;  // into buffers_[index_]
  uint64_t remaining_ = 0;
};

class ChainWriter {
 public:
  ChainWriter(const GuestMemory& memory, std::span<const GuestBuffer> buffers) noexcept;
  Result<void> write(std::span<const std::byte> in) noexcept;
  Result<void> skip(uint64_t count) noexcept;
  uint64_t remaining() const noexcept;
  // Bytes the cursor moved past, written or skipped: after skipping data
  // filled by host_iovecs() and writing a status byte, this is the used
  // length to give push_used().
  uint64_t written() const noexcept { return written_; }

 private:
  const GuestMemory& memory_;
  std::span<const GuestBuffer> buffers_;
  size_t index_ = 0;
  uint64_t offset_ = 0;
  uint64_t remaining_ = 0;
  uint64_t written_ = 0;
};

// Host iovecs covering [offset, offset + length) of `buffers` taken as one
// byte stream, written to `out`; returns how many. At most one iovec per
// buffer, so `out` sized to the chain's buffer cap always has room.
// Errc::out_of_bounds when the buffers are shorter, Errc::overflow when
// `out` is too small. Allocates nothing.
Result<size_t> host_iovecs(const GuestMemory& memory, std::span<const GuestBuffer> buffers, uint64_t offset,
                           uint64_t length, std::span<iovec> out) noexcept;

}  // namespace keel::virtio
