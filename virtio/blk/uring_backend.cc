#include "virtio/blk/uring_backend.h"

#include <fcntl.h>
#include <sys/eventfd.h>
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

}  // namespace

std::unique_ptr<UringBackend> UringBackend::create(DiskImage image, uint32_t entries) {
  std::unique_ptr<UringBackend> backend(new UringBackend(std::move(image)));
  int error = io_uring_queue_init(entries, &backend->ring_, 0);
  if (error < 0) {
    throw ConfigError(fmt::format("disk '{}': cannot set up io_uring: {}", backend->image_.path(),
                                  std::strerror(-error)));
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
  return backend;
}

UringBackend::~UringBackend() {
  // Operations still in flight write into memory we are about to free (or
  // guest RAM): let them finish first.
  std::vector<BackendCompletion> dropped;
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
  return start_fallback(tag, Fallback{Stage::discard, offset, length, 0, {}});
}

Result<void> UringBackend::write_zeroes(uint64_t tag, uint64_t offset, uint64_t length, bool may_unmap) noexcept {
  return start_fallback(tag, Fallback{may_unmap ? Stage::punch_hole : Stage::zero_range, offset, length, 0, {}});
}

Result<void> UringBackend::start_fallback(uint64_t tag, Fallback fallback) noexcept {
  auto [it, inserted] = fallbacks_.try_emplace(tag, std::move(fallback));
  if (!inserted) return fail(Errc::invalid_argument, "tag already in flight");
  auto started = start_stage(tag, it->second);
  if (!started) {
    fallbacks_.erase(it);
    return started;
  }
  ++in_flight_;
  return {};
}

Result<void> UringBackend::start_stage(uint64_t tag, Fallback& fallback) noexcept {
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
      uint64_t left = std::min<uint64_t>(fallback.length - fallback.done, kZeroBufferBytes * kZeroChunkIovecs);
      fallback.iov.clear();
      while (left > 0) {
        size_t piece = static_cast<size_t>(std::min<uint64_t>(left, kZeroBufferBytes));
        fallback.iov.push_back(iovec{zero_buffer_, piece});
        left -= piece;
      }
      io_uring_prep_writev(sqe, image_.fd(), fallback.iov.data(), static_cast<unsigned>(fallback.iov.size()),
                           fallback.offset + fallback.done);
      break;
    }
  }
  io_uring_sqe_set_data64(sqe, tag);
  return {};
}

bool UringBackend::advance_fallback(uint64_t tag, int32_t& result) noexcept {
  auto it = fallbacks_.find(tag);
  if (it == fallbacks_.end()) return true;  // an ordinary read/write/flush
  Fallback& fallback = it->second;
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
  if (retry) {
    if (start_stage(tag, fallback)) return false;
    result = -EIO;
  }
  fallbacks_.erase(it);
  return true;
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
    if (!advance_fallback(tag, result)) {
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
