// The virtio-blk device model (virtio 1.2, 5.2): one request queue whose
// requests run asynchronously on a BlockBackend (io_uring in production).
//
// Flow: a doorbell -> queue_notified() pops available chains (with driver
// notifications off while draining, then on and re-checked), parses each
// (blk_request.h), queues the I/O and submits the batch with one system
// call. Completions wake the backend's eventfd on the event loop; the
// handler takes the context lock, writes each status byte, pushes the
// chains to the used ring and signals once.
//
// Bounded work and memory: at most kChainBudget chains per wake-up (then
// VirtioContext::reschedule, so the loop serves everything else first);
// no chain is popped while the data bytes in flight could pass
// BlkOptions::max_bytes_in_flight (the completion handler resumes); every
// per-request structure is pre-allocated by the constructor.
//
// Malformed chains (no 16-byte header, no writable status byte) are given
// back with used length 0 and not executed: one broken request does not
// stop the disk. A broken queue (Virtqueue::pop() error) is NEEDS_RESET.
//
// Reset never blocks (it runs under the device lock, and through PCI_CFG
// under the host bridge's): it cancels what the backend can stop and
// returns false while the rest is in flight; their results are dropped on
// the event loop and the last one finishes the reset (reset_finished()).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
  // Data bytes (reads, writes, write-zeroes) the device lets be in flight;
  // more requests wait in the ring. A single request may always run alone,
  // so the bound is max(this, VirtioBlk::kMaxRequestBytes).
  uint64_t max_bytes_in_flight = uint64_t{64} << 20;
};

class VirtioBlk final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueMaxSize = 256;
  static constexpr uint32_t kMaxDiscardSectors = 1u << 22;       // 2 GiB per request
  static constexpr uint32_t kMaxWriteZeroesSectors = 1u << 15;   // 16 MiB (may fall back to writes)
  static constexpr uint32_t kDiscardSectorAlignment = 8;         // 4 KiB, the usual file system block
  // The header and the status byte take two of a chain's descriptors.
  static constexpr uint32_t kSegMax = kQueueMaxSize - 2;
  // Buffers per chain keel takes: seg_max data segments, the header and the
  // status byte, the most a correct driver sends (Linux: seg_max + 2). A
  // longer chain (only possible through an indirect table) is a broken
  // driver: DEVICE_NEEDS_RESET, never a bigger allocation.
  static constexpr uint32_t kMaxChainBuffers = kSegMax + 2;
  static constexpr uint32_t kSizeMax = 128 * 1024;  // bytes per segment
  // The largest request the limits above allow (a read/write of seg_max
  // full segments; write-zeroes is smaller).
  static constexpr uint64_t kMaxRequestBytes = uint64_t{kSegMax} * kSizeMax;
  static_assert(kMaxRequestBytes >= uint64_t{kMaxWriteZeroesSectors} * 512);
  // Chains served per wake-up; below the queue size, so a driver that keeps
  // avail.idx ahead cannot hold the event loop.
  static constexpr unsigned kChainBudget = 128;

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
  // Cancels in-flight I/O and returns without waiting; false while some is
  // still running (then on_completions() drops each result and calls
  // VirtioContext::reset_finished() after the last).
  bool reset() noexcept override;
  void wait_for_reset() noexcept override;

  // The event-loop handler of the backend's eventfd (public for tests that
  // drive a FakeFdPoller by hand). Takes the context lock.
  void on_completions() noexcept;
  // Requests handed to the backend and not yet completed.
  size_t requests_in_flight() const noexcept { return requests_in_flight_; }
  // Their data bytes, counted against BlkOptions::max_bytes_in_flight.
  uint64_t bytes_in_flight() const noexcept { return bytes_in_flight_; }

 private:
  // One request with the backend. Slots are pre-allocated (a queue's
  // worth: Virtqueue never lets more chains be outstanding) and found from
  // the tag: tag = sequence << 16 | slot, the sequence never reused, so a
  // completion from before a reset matches no slot.
  struct InFlight {
    uint64_t tag = 0;  // 0: free
    uint16_t head = 0;
    Gpa status_byte{0};
    Operation operation = Operation::flush;
    uint64_t offset = 0;     // read/write: where the rest goes after a short transfer
    uint64_t remaining = 0;  // read/write: bytes still to transfer
    uint64_t charged = 0;    // counted in bytes_in_flight_
    uint32_t used_on_success = 0;
    iovec* iov = nullptr;    // kSegMax entries of iov_pool_
    size_t iov_first = 0;    // read/write: iov[iov_first, +iov_count) is still to transfer
    size_t iov_count = 0;
  };

  void process_queue(VirtioContext& context, Virtqueue& queue) noexcept;
  // Whether one more request of any size keeps bytes_in_flight_ within
  // the cap (or nothing is in flight: a request may always run alone).
  bool room_for_a_request() const noexcept;
  // Returns true when the chain was completed (pushed) right away.
  bool start_request(VirtioContext& context, Virtqueue& queue, const DescriptorChain& chain) noexcept;
  bool queue_operation(InFlight& request, const ParsedRequest& parsed) noexcept;
  InFlight* find_slot(uint64_t tag) noexcept;
  void release(InFlight& request) noexcept;
  // Without VIRTIO_BLK_F_FLUSH the driver assumes a write-through device, so
  // every write must be durable before it completes.
  bool write_through() const noexcept;
  void complete(VirtioContext& context, Virtqueue& queue, uint16_t head, Gpa status_byte, uint8_t status,
                uint32_t used) noexcept;
  void handle_completion(VirtioContext& context, Virtqueue& queue, const BackendCompletion& completion,
                         bool& pushed) noexcept;
  // Reset: releases the slots of completions_ (results dropped).
  void drop_completions() noexcept;
  // Nothing in flight: every slot free, no reset pending.
  void finish_reset() noexcept;
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
  bool throttled_ = false;  // stopped popping for the byte cap: completions resume
  bool resetting_ = false;  // reset() returned false: old requests still in flight
  uint64_t next_sequence_ = 1;  // never reused, so a stale completion finds no slot
  std::vector<InFlight> slots_;            // kQueueMaxSize
  std::vector<uint16_t> free_slots_;       // indices into slots_
  std::unique_ptr<iovec[]> iov_pool_;      // kQueueMaxSize * kSegMax
  size_t requests_in_flight_ = 0;
  uint64_t bytes_in_flight_ = 0;
  std::vector<BackendCompletion> completions_;  // scratch, reserved for a queue's worth
  // Every chain is popped into this one: reserved for kMaxChainBuffers at
  // construction, so serving a request allocates nothing.
  DescriptorChain chain_;
  LogRateLimiter log_limiter_{5};
};

}  // namespace keel::virtio::blk
