// The virtio-blk device model (virtio 1.2, 5.2): one request queue whose
// requests run asynchronously on a BlockBackend (io_uring in production).
//
// Flow: a doorbell -> queue_notified() pops every available chain (with
// driver notifications off while draining, then on and re-checked), parses
// each (blk_request.h), queues the I/O and submits the batch with one
// system call. Completions wake the backend's eventfd on the event loop;
// the handler takes the context lock, writes each status byte, pushes the
// chains to the used ring and signals once.
//
// Malformed chains (no 16-byte header, no writable status byte) are given
// back with used length 0 and not executed: one broken request does not
// stop the disk. A broken queue (Virtqueue::pop() error) is NEEDS_RESET.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "keel/fd_poller.h"
#include "keel/log_rate_limiter.h"
#include "virtio/blk/blk_request.h"
#include "virtio/blk/blk_spec.h"
#include "virtio/blk/block_backend.h"
#include "virtio/blk/disk_spec.h"
#include "virtio/core/virtio_device.h"

namespace keel::virtio::blk {

struct BlkOptions {
  uint64_t capacity_sectors = 0;
  bool readonly = false;
  std::string serial;  // at most kIdBytes
};

class VirtioBlk final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueMaxSize = 256;
  static constexpr uint32_t kMaxDiscardSectors = 1u << 22;       // 2 GiB per request
  static constexpr uint32_t kMaxWriteZeroesSectors = 1u << 15;   // 16 MiB (may fall back to writes)
  static constexpr uint32_t kDiscardSectorAlignment = 8;         // 4 KiB, the usual file system block

  // Opens the image (DiskImage::open) and an io_uring backend for it, and
  // registers the ring's eventfd on `poller`. Throws ConfigError.
  static std::shared_ptr<VirtioBlk> open(const DiskSpec& spec, FdPoller& poller);

  // Registers backend->event_fd() on `poller` (removed by the destructor).
  VirtioBlk(std::unique_ptr<BlockBackend> backend, BlkOptions options, FdPoller& poller);
  ~VirtioBlk() override;
  VirtioBlk(const VirtioBlk&) = delete;
  VirtioBlk& operator=(const VirtioBlk&) = delete;

  uint16_t device_type() const noexcept override;
  uint64_t device_features() const noexcept override;
  uint16_t queue_count() const noexcept override { return 1; }
  uint16_t queue_max_size() const noexcept override { return kQueueMaxSize; }
  void config_read(uint32_t offset, std::span<std::byte> data) noexcept override;
  void config_write(uint32_t offset, std::span<const std::byte> data) noexcept override;
  bool activate(VirtioContext& context) noexcept override;
  void queue_notified(uint16_t queue) noexcept override;
  void reset() noexcept override;

  // The event-loop handler of the backend's eventfd (public for tests that
  // drive a FakeFdPoller by hand). Takes the context lock.
  void on_completions() noexcept;
  // Requests handed to the backend and not yet completed.
  size_t requests_in_flight() const noexcept { return in_flight_.size(); }

 private:
  struct InFlight {
    uint16_t head;
    Gpa status_byte;
    Operation operation;
    uint64_t offset;     // read/write: where the rest goes after a short transfer
    uint64_t remaining;  // read/write: bytes still to transfer
    uint32_t used_on_success;
    std::vector<iovec> iov;  // read/write: what is still to transfer
  };

  void process_queue(VirtioContext& context, Virtqueue& queue) noexcept;
  // Returns true when the chain was completed (pushed) right away.
  bool start_request(VirtioContext& context, Virtqueue& queue, const DescriptorChain& chain) noexcept;
  bool queue_operation(uint64_t tag, InFlight& request, const ParsedRequest& parsed) noexcept;
  // Without VIRTIO_BLK_F_FLUSH the driver assumes a write-through device, so
  // every write must be durable before it completes.
  bool write_through() const noexcept;
  void complete(VirtioContext& context, Virtqueue& queue, uint16_t head, Gpa status_byte, uint8_t status,
                uint32_t used) noexcept;
  void handle_completion(VirtioContext& context, Virtqueue& queue, const BackendCompletion& completion,
                         bool& pushed) noexcept;
  void drop_in_flight() noexcept;
  Config make_config() const noexcept;

  std::unique_ptr<BlockBackend> backend_;
  BlkOptions options_;
  FdPoller& poller_;
  std::array<std::byte, kIdBytes> id_{};
  // Set by activate(); the transport keeps the context alive after reset,
  // and the completion handler needs its lock to find out there is nothing
  // to do.
  std::atomic<VirtioContext*> context_{nullptr};
  bool active_ = false;  // between activate() and reset(); under the lock
  bool broken_ = false;  // NEEDS_RESET raised: ignore the queue until reset
  uint64_t next_tag_ = 1;  // never reused, so a stale completion finds no entry
  std::unordered_map<uint64_t, InFlight> in_flight_;
  std::vector<BackendCompletion> completions_;  // scratch, reused
  LogRateLimiter log_limiter_{5};
};

}  // namespace keel::virtio::blk
