#include "virtio/blk/uring_backend.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::virtio::blk {
namespace {

constexpr size_t kZeroBufferBytes = 64 * 1024;
constexpr size_t kZeroChunkIovecs = 256;  // 16 MiB per zero-writing writev

// Kernels before 5.12 charge io_uring's rings to RLIMIT_MEMLOCK: ENOMEM or
// EPERM there usually means that limit, so say it and its value.
std::string memlock_hint(int error) {
  if (error != ENOMEM && error != EPERM) return {};
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return " (check RLIMIT_MEMLOCK, ulimit -l)";
  const auto text = [](rlim_t value) {
    return value == RLIM_INFINITY ? std::string("unlimited") : fmt::format("{} KiB", value / 1024);
  };
  return fmt::format(" (older kernels count io_uring rings as locked memory: RLIMIT_MEMLOCK is {}, hard {}; "
                     "raise it with ulimit -l)",
                     text(limit.rlim_cur), text(limit.rlim_max));
}

}  // namespace

std::unique_ptr<UringBackend> UringBackend::create(DiskImage image, uint32_t entries) {
  std::unique_ptr<UringBackend> backend(new UringBackend(std::move(image)));
  int error = io_uring_queue_init(entries, &backend->ring_, 0);
  if (error < 0) {
    throw ConfigError(fmt::format("disk '{}': cannot set up io_uring: {}{}", backend->image_.path(),
                                  std::strerror(-error), memlock_hint(-error)));
  }
  backend->ring_ready_ = true;
  backend->event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (backend->event_fd_ < 0) {
    throw ConfigError(fmt::format("disk '{}': eventfd: {}", backend->image_.path(), std::strerror(errno)));
  }
  error = io_uring_register_eventfd(&backend->ring_, backend->event_fd_);
  if (error < 0) {
    throw ConfigError(fmt::format("disk '{}': io_uring_register_eventfd: {}", backend->image_.path(),
                                  std::strerror(-error)));
  }
  backend->zero_buffer_ = static_cast<std::byte*>(std::aligned_alloc(4096, kZeroBufferBytes));
  if (backend->zero_buffer_ == nullptr) throw std::bad_alloc();
  std::memset(backend->zero_buffer_, 0, kZeroBufferBytes);
  backend->zero_iov_.assign(kZeroChunkIovecs, iovec{backend->zero_buffer_, kZeroBufferBytes});
  backend->fallbacks_.resize(entries);
  backend->free_fallbacks_.reserve(entries);
  for (uint32_t slot = entries; slot > 0; --slot) backend->free_fallbacks_.push_back(slot - 1);
  return backend;
}

UringBackend::~UringBackend() {
  // Operations still in flight write into memory we are about to free (or
  // guest RAM): let them finish first.
  std::vector<BackendCompletion> dropped;
  if (ring_ready_) cancel_all();
  while (ring_ready_ && in_flight_ > 0) wait(dropped);
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (event_fd_ >= 0) ::close(event_fd_);
  std::free(zero_buffer_);
}

io_uring_sqe* UringBackend::next_sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe != nullptr) return sqe;
  // The submission queue is full: hand what is there to the kernel.
  io_uring_submit(&ring_);
  return io_uring_get_sqe(&ring_);
}

Result<void> UringBackend::read(uint64_t tag, std::span<const iovec> iov, uint64_t offset) noexcept {
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return fail(Errc::io_error, "io_uring submission queue full");
  io_uring_prep_readv(sqe, image_.fd(), iov.data(), static_cast<unsigned>(iov.size()), offset);
  io_uring_sqe_set_data64(sqe, tag);
  ++in_flight_;
  return {};
}

Result<void> UringBackend::write(uint64_t tag, std::span<const iovec> iov, uint64_t offset,
                                 bool write_through) noexcept {
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return fail(Errc::io_error, "io_uring submission queue full");
  // RWF_DSYNC: this write alone behaves as if the file were O_DSYNC.
  io_uring_prep_writev2(sqe, image_.fd(), iov.data(), static_cast<unsigned>(iov.size()), offset,
                        write_through ? RWF_DSYNC : 0);
  io_uring_sqe_set_data64(sqe, tag);
  ++in_flight_;
  return {};
}

Result<void> UringBackend::flush(uint64_t tag) noexcept {
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return fail(Errc::io_error, "io_uring submission queue full");
  io_uring_prep_fsync(sqe, image_.fd(), IORING_FSYNC_DATASYNC);
  // DRAIN: the fsync starts only after everything submitted before it has
  // completed, so writes still in flight when the flush arrived are covered
  // too (stronger than 5.2.6.2 asks, which is only completed writes).
  sqe->flags |= IOSQE_IO_DRAIN;
  io_uring_sqe_set_data64(sqe, tag);
  ++in_flight_;
  return {};
}

Result<void> UringBackend::discard(uint64_t tag, uint64_t offset, uint64_t length) noexcept {
  return start_fallback(Fallback{tag, Stage::discard, offset, length});
}

Result<void> UringBackend::write_zeroes(uint64_t tag, uint64_t offset, uint64_t length, bool may_unmap) noexcept {
  return start_fallback(Fallback{tag, may_unmap ? Stage::punch_hole : Stage::zero_range, offset, length});
}

Result<void> UringBackend::start_fallback(Fallback fallback) noexcept {
  if (free_fallbacks_.empty()) return fail(Errc::io_error, "too many discard / write-zeroes operations in flight");
  const uint32_t slot = free_fallbacks_.back();
  fallbacks_[slot] = fallback;
  auto started = start_stage(slot);
  if (!started) return started;  // the slot stays free
  free_fallbacks_.pop_back();
  ++in_flight_;
  return {};
}

Result<void> UringBackend::start_stage(uint32_t slot) noexcept {
  Fallback& fallback = fallbacks_[slot];
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return fail(Errc::io_error, "io_uring submission queue full");
  switch (fallback.stage) {
    case Stage::discard:
    case Stage::punch_hole:
      // KEEP_SIZE: punching the tail must not shrink the image.
      io_uring_prep_fallocate(sqe, image_.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, fallback.offset,
                              fallback.length);
      break;
    case Stage::zero_range:
      io_uring_prep_fallocate(sqe, image_.fd(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, fallback.offset,
                              fallback.length);
      break;
    case Stage::write_zeroes: {
      // Whole zero buffers from the shared iovec array (up to 16 MiB per
      // writev), then the partial tail on its own: nothing to allocate.
      const uint64_t left = fallback.length - fallback.done;
      const uint64_t whole = std::min<uint64_t>(left / kZeroBufferBytes, kZeroChunkIovecs);
      const iovec* iov = zero_iov_.data();
      unsigned count = static_cast<unsigned>(whole);
      if (whole == 0) {
        fallback.tail = iovec{zero_buffer_, static_cast<size_t>(left)};
        iov = &fallback.tail;
        count = 1;
      }
      io_uring_prep_writev(sqe, image_.fd(), iov, count, fallback.offset + fallback.done);
      break;
    }
  }
  io_uring_sqe_set_data64(sqe, kFallbackTag | slot);
  return {};
}

bool UringBackend::advance(uint64_t& tag, int32_t& result) noexcept {
  if ((tag & kFallbackTag) == 0) return true;  // an ordinary read/write/flush
  const uint64_t slot = tag & ~kFallbackTag;
  if (slot >= fallbacks_.size()) return false;  // cannot happen: only we make these tags
  Fallback& fallback = fallbacks_[slot];
  tag = fallback.tag;
  // EINVAL too: some file systems answer an unsupported mode that way.
  bool unsupported = result == -EOPNOTSUPP || result == -EINVAL;
  bool retry = false;
  switch (fallback.stage) {
    case Stage::discard:
      if (unsupported) result = 0;  // discard is a hint (5.2.6.2: the device MAY deallocate)
      break;
    case Stage::punch_hole:
      if (unsupported) {
        fallback.stage = Stage::zero_range;
        retry = true;
      }
      break;
    case Stage::zero_range:
      if (unsupported) {
        fallback.stage = Stage::write_zeroes;
        retry = true;
      }
      break;
    case Stage::write_zeroes:
      if (result == 0) {
        result = -EIO;  // no progress
      } else if (result > 0) {
        fallback.done += static_cast<uint64_t>(result);
        retry = fallback.done < fallback.length;
        result = 0;
      }
      break;
  }
  if (retry && fallback.cancelled) {
    retry = false;
    result = -ECANCELED;
  }
  if (retry) {
    if (start_stage(static_cast<uint32_t>(slot))) return false;
    result = -EIO;
  }
  free_fallbacks_.push_back(static_cast<uint32_t>(slot));  // never more than `entries`: reserved
  return true;
}

void UringBackend::cancel_all() noexcept {
  for (Fallback& fallback : fallbacks_) fallback.cancelled = true;  // free slots are reset when taken
  if (in_flight_ == 0) return;
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return;  // best effort: the caller waits anyway
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  io_uring_sqe_set_data64(sqe, kCancelTag);
  io_uring_submit(&ring_);
}

void UringBackend::reap(std::vector<BackendCompletion>& out) noexcept {
  uint64_t count = 0;
  // Clear the eventfd before looking at the ring: a CQE posted after this
  // read makes it readable again, so none is missed.
  [[maybe_unused]] ssize_t ignored = ::read(event_fd_, &count, sizeof(count));
  bool resubmitted = false;
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    int32_t result = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (tag == kCancelTag) continue;  // how many it cancelled: those complete on their own
    if (!advance(tag, result)) {
      resubmitted = true;
      continue;
    }
    --in_flight_;
    out.push_back({tag, result});
  }
  if (resubmitted) io_uring_submit(&ring_);
}

void UringBackend::wait(std::vector<BackendCompletion>& out) noexcept {
  if (in_flight_ == 0) return;
  int error;
  do {
    error = io_uring_submit_and_wait(&ring_, 1);
  } while (error == -EINTR);
  reap(out);
}

Result<void> UringBackend::submit() noexcept {
  int submitted = io_uring_submit(&ring_);
  if (submitted < 0) return fail(Errc::io_error, "io_uring_submit failed");
  return {};
}

}  // namespace keel::virtio::blk
