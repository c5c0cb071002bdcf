// A BlockBackend that performs nothing and completes every queued operation
// at the next submit(): with a fixed result (e.g. -EIO, a dying disk) or
// with the full length of its iovecs (success, no I/O). Shared by the
// virtio-blk unit tests and the in-process benchmark (tools/bench/micro).
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>
#include <vector>

#include "virtio/blk/block_backend.h"

namespace keel::virtio::blk::testing {

class ImmediateBackend final : public BlockBackend {
 public:
  // nullopt: each operation succeeds with its iovecs' total length.
  explicit ImmediateBackend(std::optional<int32_t> forced_result = std::nullopt)
      : forced_result_(forced_result), event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (event_fd_ < 0) throw std::runtime_error("eventfd failed");
  }
  ~ImmediateBackend() override { ::close(event_fd_); }
  ImmediateBackend(const ImmediateBackend&) = delete;
  ImmediateBackend& operator=(const ImmediateBackend&) = delete;

  Result<void> read(uint64_t tag, std::span<const iovec> iov, uint64_t) noexcept override { return queue(tag, iov); }
  Result<void> write(uint64_t tag, std::span<const iovec> iov, uint64_t, bool) noexcept override {
    return queue(tag, iov);
  }
  Result<void> flush(uint64_t tag) noexcept override { return queue(tag, {}); }
  Result<void> discard(uint64_t tag, uint64_t, uint64_t) noexcept override { return queue(tag, {}); }
  Result<void> write_zeroes(uint64_t tag, uint64_t, uint64_t, bool) noexcept override { return queue(tag, {}); }
  Result<void> submit() noexcept override {
    if (!queued_.empty()) {
      done_.insert(done_.end(), queued_.begin(), queued_.end());
      queued_.clear();
      uint64_t one = 1;
      [[maybe_unused]] ssize_t ignored = ::write(event_fd_, &one, sizeof(one));
    }
    return {};
  }
  int event_fd() const noexcept override { return event_fd_; }
  void reap(std::vector<BackendCompletion>& out) noexcept override {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t ignored = ::read(event_fd_, &count, sizeof(count));
    out.insert(out.end(), done_.begin(), done_.end());
    done_.clear();
  }
  void wait(std::vector<BackendCompletion>& out) noexcept override {
    (void)submit();
    reap(out);
  }
  uint32_t in_flight() const noexcept override { return static_cast<uint32_t>(queued_.size() + done_.size()); }

 private:
  Result<void> queue(uint64_t tag, std::span<const iovec> iov) noexcept {
    int32_t result = 0;
    if (forced_result_) {
      result = *forced_result_;
    } else {
      for (const iovec& piece : iov) result += static_cast<int32_t>(piece.iov_len);
    }
    queued_.push_back({tag, result});
    return {};
  }

  std::optional<int32_t> forced_result_;
  int event_fd_;
  std::vector<BackendCompletion> queued_;
  std::vector<BackendCompletion> done_;
};

}  // namespace keel::virtio::blk::testing
