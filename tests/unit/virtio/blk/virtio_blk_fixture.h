// The virtio-blk device test fixture: a temp image with a known pattern, a
// FakeDriver laying out real rings, a real Virtqueue, a FakeFdPoller, and
// backends that shorten transfers (ChunkingBackend) or hold operations until
// released (HoldingBackend, a slow disk).
#pragma once

#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "keel/config_error.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/virtio/blk/fake_driver.h"
#include "tests/unit/virtio/blk/immediate_backend.h"
#include "tests/unit/virtio/blk/temp_image.h"
#include "virtio/blk/disk_image.h"
#include "virtio/blk/uring_backend.h"
#include "virtio/blk/virtio_blk.h"
#include "virtio/core/virtio_spec.h"

namespace keel::virtio::blk {

using testing::DriverBuffer;
using testing::FakeContext;
using testing::FakeDriver;
using testing::ImmediateBackend;
using testing::TempImage;

constexpr uint64_t kDiskSectors = 2048;  // 1 MiB
constexpr uint16_t kQueueSize = 256;
constexpr uint64_t kAllFeatures = feature::kFlush | feature::kDiscard | feature::kWriteZeroes |
                                  feature::kSegMax | feature::kBlkSize;

inline uint8_t pattern(uint64_t offset) { return static_cast<uint8_t>(offset * 7 + offset / 512); }

// Runs every read / write synchronously but moves at most 512 bytes per
// call, as a short transfer would: the device must carry on with the rest.
class ChunkingBackend final : public BlockBackend {
 public:
  explicit ChunkingBackend(int fd) : fd_(fd), event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~ChunkingBackend() override { ::close(event_fd_); }
  Result<void> read(uint64_t tag, std::span<const iovec> iov, uint64_t offset) noexcept override {
    auto capped = cap(iov);
    return finish(tag, static_cast<int32_t>(preadv(fd_, capped.data(), static_cast<int>(capped.size()),
                                                   static_cast<off_t>(offset))));
  }
  Result<void> write(uint64_t tag, std::span<const iovec> iov, uint64_t offset, bool write_through) noexcept override {
    write_through_calls += write_through ? 1 : 0;
    auto capped = cap(iov);
    return finish(tag, static_cast<int32_t>(pwritev(fd_, capped.data(), static_cast<int>(capped.size()),
                                                    static_cast<off_t>(offset))));
  }
  Result<void> flush(uint64_t tag) noexcept override { return finish(tag, 0); }
  Result<void> discard(uint64_t tag, uint64_t, uint64_t) noexcept override { return finish(tag, 0); }
  Result<void> write_zeroes(uint64_t tag, uint64_t, uint64_t, bool) noexcept override { return finish(tag, 0); }
  Result<void> submit() noexcept override {
    uint64_t one = 1;
    if (!done_.empty()) [[maybe_unused]] ssize_t ignored = ::write(event_fd_, &one, sizeof(one));
    return {};
  }
  int event_fd() const noexcept override { return event_fd_; }
  void reap(std::vector<BackendCompletion>& out) noexcept override {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t ignored = ::read(event_fd_, &count, sizeof(count));
    out.insert(out.end(), done_.begin(), done_.end());
    done_.clear();
  }
  void wait(std::vector<BackendCompletion>& out) noexcept override { reap(out); }
  uint32_t in_flight() const noexcept override { return static_cast<uint32_t>(done_.size()); }
  int calls = 0;
  int write_through_calls = 0;  // writes asked to be durable on completion

 private:
  static std::vector<iovec> cap(std::span<const iovec> iov) {
    std::vector<iovec> capped;
    size_t left = 512;
    for (const iovec& piece : iov) {
      if (left == 0) break;
      size_t take = std::min(left, piece.iov_len);
      capped.push_back({piece.iov_base, take});
      left -= take;
    }
    return capped;
  }
  Result<void> finish(uint64_t tag, int32_t result) noexcept {
    ++calls;
    done_.push_back({tag, result < 0 ? -errno : result});
    return {};
  }
  int fd_;
  int event_fd_;
  std::vector<BackendCompletion> done_;
};

// A slow disk: every operation waits until the test finishes it
// (finish_all), a wait() (which finishes them, as a disk would in time) or
// cancel_all() (which stops them with -ECANCELED, unless `cancellable` is
// false). Reads and writes succeed
// with their whole length; nothing touches memory.
class HoldingBackend final : public BlockBackend {
 public:
  HoldingBackend() : event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~HoldingBackend() override { ::close(event_fd_); }
  Result<void> read(uint64_t tag, std::span<const iovec> iov, uint64_t) noexcept override { return hold(tag, iov); }
  Result<void> write(uint64_t tag, std::span<const iovec> iov, uint64_t, bool) noexcept override {
    return hold(tag, iov);
  }
  Result<void> flush(uint64_t tag) noexcept override { return hold(tag, {}); }
  Result<void> discard(uint64_t tag, uint64_t, uint64_t) noexcept override { return hold(tag, {}); }
  Result<void> write_zeroes(uint64_t tag, uint64_t, uint64_t, bool) noexcept override { return hold(tag, {}); }
  Result<void> submit() noexcept override { return {}; }
  int event_fd() const noexcept override { return event_fd_; }
  void reap(std::vector<BackendCompletion>& out) noexcept override {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t ignored = ::read(event_fd_, &count, sizeof(count));
    out.insert(out.end(), done_.begin(), done_.end());
    done_.clear();
  }
  void wait(std::vector<BackendCompletion>& out) noexcept override {
    finished_by_waiting += static_cast<int>(held_.size());
    finish_all();
    reap(out);
  }
  uint32_t in_flight() const noexcept override { return static_cast<uint32_t>(held_.size() + done_.size()); }
  void cancel_all() noexcept override {
    ++cancels;
    if (!cancellable) return;  // e.g. reads the kernel is already copying
    for (BackendCompletion& held : held_) held.result = -ECANCELED;
    finish_all();
  }

  void finish_all() {
    done_.insert(done_.end(), held_.begin(), held_.end());
    held_.clear();
    uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = ::write(event_fd_, &one, sizeof(one));
  }
  size_t held() const { return held_.size(); }
  int cancels = 0;
  int finished_by_waiting = 0;
  bool cancellable = true;  // false: cancel_all() stops nothing

 private:
  Result<void> hold(uint64_t tag, std::span<const iovec> iov) noexcept {
    int32_t length = 0;
    for (const iovec& piece : iov) length += static_cast<int32_t>(piece.iov_len);
    held_.push_back({tag, length});
    return {};
  }
  int event_fd_;
  std::vector<BackendCompletion> held_;
  std::vector<BackendCompletion> done_;
};

struct Request {
  uint16_t head;
  uint64_t data;    // gpa of the data (or segment) buffer
  uint64_t status;  // gpa of the status byte
};

class VirtioBlkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_uring probe{};
    int error = io_uring_queue_init(4, &probe, 0);
    if (error < 0) GTEST_SKIP() << "io_uring is not available here: " << std::strerror(-error);
    io_uring_queue_exit(&probe);
    std::vector<uint8_t> bytes(kDiskSectors * 512);
    for (uint64_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern(i);
    file.write(0, bytes);
  }

  void open_device(bool readonly = false, uint64_t features = kAllFeatures,
                   std::unique_ptr<BlockBackend> backend = nullptr) {
    if (!backend) {
      backend = UringBackend::create(DiskImage::open({file.path(), readonly, false, "keel-serial-1"}), kQueueSize);
    }
    event_fd = backend->event_fd();
    context.emplace(guest.memory(), features);
    auto created = Virtqueue::create(guest.memory(), driver.config(), {}, kQueueSize);
    ASSERT_TRUE(created.has_value());
    queue.emplace(std::move(*created));
    context->set_queue(&*queue);
    device = std::make_shared<VirtioBlk>(
        std::move(backend), BlkOptions{capacity_sectors, readonly, "keel-serial-1", max_bytes_in_flight}, poller);
    std::lock_guard guard(context->lock());
    ASSERT_TRUE(device->activate(*context));
  }

  void open_device_on(const std::string& path, bool direct) {
    open_device(false, kAllFeatures,
                UringBackend::create(DiskImage::open({path, false, direct, "keel-serial-1"}), kQueueSize));
  }

  // header, optional data (readable or writable), status byte (0xFF until set)
  Request request(uint32_t type, uint64_t sector, uint32_t data_length, bool data_writable, bool publish = true) {
    uint64_t header = driver.alloc(16);
    RequestHeader fields{type, 0, sector};
    std::memcpy(driver.host(header), &fields, sizeof(fields));
    uint64_t data = data_length > 0 ? driver.alloc(data_length) : 0;
    uint64_t status = driver.alloc(1);
    *driver.host(status) = std::byte{0xFF};
    std::vector<DriverBuffer> buffers{{header, 16, false}};
    if (data_length > 0) buffers.push_back({data, data_length, data_writable});
    buffers.push_back({status, 1, true});
    return {driver.add_chain(buffers, publish), data, status};
  }

  Request segment_request(uint32_t type, uint64_t sector, uint32_t sectors, uint32_t flags) {
    Request made = request(type, 0, 16, false, false);
    DiscardWriteZeroesSegment segment{sector, sectors, flags};
    std::memcpy(driver.host(made.data), &segment, sizeof(segment));
    driver.publish();
    return made;
  }

  // Resets the device as the transport does; I/O left in flight is let
  // complete on the "event loop" (poll + fire) until the device reports
  // the reset finished.
  void reset_and_settle() {
    bool finished = false;
    {
      std::lock_guard guard(context->lock());
      finished = device->reset();
    }
    for (int round = 0; round < 1000 && !finished && context->resets_finished == 0; ++round) {
      pollfd ready{event_fd, POLLIN, 0};
      ::poll(&ready, 1, 5000);
      poller.fire(event_fd);
    }
    ASSERT_TRUE(finished || context->resets_finished == 1);
  }

  void kick() {
    std::lock_guard guard(context->lock());
    device->queue_notified(0);
  }

  // Let completions arrive (bounded: no sleeping, a 5 s poll timeout per round).
  void run_until_used(uint16_t count) {
    for (int round = 0; round < 1000 && driver.used_idx() < count; ++round) {
      pollfd ready{event_fd, POLLIN, 0};
      ::poll(&ready, 1, 5000);
      poller.fire(event_fd);
    }
    ASSERT_EQ(driver.used_idx(), count);
  }

  uint8_t status_of(const Request& made) { return static_cast<uint8_t>(*driver.host(made.status)); }

  uint64_t capacity_sectors = kDiskSectors;  // what the device reports (the file is kDiskSectors)
  uint64_t max_bytes_in_flight = BlkOptions{}.max_bytes_in_flight;
  TempImage file{kDiskSectors * 512};
  keel::testing::TestGuestMemory guest{16 << 20};
  FakeDriver driver{guest, kQueueSize};
  keel::testing::FakeFdPoller poller;
  std::optional<FakeContext> context;
  std::optional<Virtqueue> queue;
  int event_fd = -1;
  std::shared_ptr<VirtioBlk> device;  // last: destroyed first
};

}  // namespace keel::virtio::blk
