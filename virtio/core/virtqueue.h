// A split virtqueue (virtio 1.2, 2.7) as the device side sees it: the
// descriptor table, the driver ("available") ring and the device ("used")
// ring, all in guest memory that the guest may change at any moment.
//
// Every value read from the rings is validated before use: queue size and
// ring addresses/alignment at create(); avail.idx running more than the queue
// size ahead of the device; head and next indices out of range; chains that
// loop or are longer than the queue; indirect tables that are nested, have a
// bad length, or come with NEXT set; buffers whose addr + len leaves guest
// RAM or wraps; a chain whose total length exceeds 4 GiB; a readable
// descriptor after a writable one. Each of these is an Error from pop(); the
// caller marks the device DEVICE_NEEDS_RESET and stops using the queue.
// Guest memory is only ever touched through GuestMemory's checked API.
//
// Not thread-safe: the owning device serializes (its context lock).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "keel/gpa.h"
#include "keel/guest_memory.h"
#include "keel/result.h"

namespace keel::virtio {

// What the driver programmed through the transport (common config).
struct QueueConfig {
  uint16_t size = 0;
  uint64_t desc = 0;    // descriptor table
  uint64_t driver = 0;  // available ring
  uint64_t device = 0;  // used ring
};

// Negotiated features that change how the queue behaves.
struct QueueFeatures {
  bool event_idx = false;  // VIRTIO_F_RING_EVENT_IDX
  bool indirect = false;   // VIRTIO_F_RING_INDIRECT_DESC
};

// One guest buffer of a chain, already checked to lie inside guest RAM.
struct GuestBuffer {
  Gpa address;
  uint32_t length = 0;
};

// A request the driver made available: its head index (to give back with
// push_used) and its buffers, device-readable ones first.
struct DescriptorChain {
  uint16_t head = 0;
  std::vector<GuestBuffer> readable;
  std::vector<GuestBuffer> writable;
  uint64_t readable_length() const noexcept;
  uint64_t writable_length() const noexcept;

  // Device set-up (may throw std::bad_alloc): reserve room for
  // `max_buffers` buffers in each vector and make that the chain's cap, so
  // pop_into() never allocates on the guest's behalf: a chain with more
  // (non-empty) buffers is an Error (malformed), like any other chain the
  // device cannot take. Without it a chain's vectors grow to what the ring
  // allows: up to queue size - 1 + 32768 buffers through an indirect table.
  void reserve(uint32_t max_buffers);
  // The cap set by reserve(); 0 means none (the vectors may grow).
  uint32_t max_buffers() const noexcept { return max_buffers_; }

 private:
  uint32_t max_buffers_ = 0;
};

class Virtqueue {
 public:
  // Validates the configuration: size a power of two, 1..max_size (max_size
  // <= 32768); desc 16-, driver 2-, used 4-byte aligned; each ring (with the
  // event-index fields when event_idx) wholly inside guest RAM.
  static Result<Virtqueue> create(const GuestMemory& memory, const QueueConfig& config, QueueFeatures features,
                                  uint16_t max_size) noexcept;

  // The next chain the driver made available, nullopt when there is none.
  // On an Error the queue state is unchanged (the chain is not consumed).
  // Zero-length descriptors are dropped: no GuestBuffer is ever empty.
  // With EVENT_IDX and notifications enabled, also advances avail_event.
  // More chains outstanding (popped, not pushed) than the queue size is
  // also an Error: a correct driver cannot make that many available.
  // Allocates the chain's vectors each time (std::bad_alloc inside noexcept
  // would terminate keel): for tests and tools; devices use pop_into().
  Result<std::optional<DescriptorChain>> pop() noexcept;
  // As pop(), into `chain` (true) or false when none is available; reuses
  // the chain's vectors. A chain the device reserve()d at set-up is never
  // grown: more buffers than its cap is an Error, so a device popping into
  // such chains allocates nothing on the guest's behalf. On false or an
  // Error, `chain` holds nothing usable (its capacity and cap are kept).
  Result<bool> pop_into(DescriptorChain& chain) noexcept;
  // Give chain `head` back with `written` bytes written into its writable
  // buffers (one used-ring entry, then used.idx; a release fence between).
  // Errc::invalid_argument for head >= size() or nothing in flight.
  Result<void> push_used(uint16_t head, uint32_t written) noexcept;
  // After one or more push_used(): whether the driver wants an interrupt
  // for them — VIRTQ_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX the used_event
  // rule of 2.7.10. Resets the "since last signal" window.
  bool needs_interrupt() noexcept;
  // Driver-notification suppression (2.7.10/2.7.7): with EVENT_IDX, writes
  // avail_event = the next index the device will look at; otherwise sets or
  // clears VIRTQ_USED_F_NO_NOTIFY. Devices disable while draining the ring
  // and enable before the final check, so no doorbell is lost.
  Result<void> set_notifications(bool enabled) noexcept;

  uint16_t size() const noexcept { return config_.size; }
  // Chains popped and not yet pushed back (for reset / draining).
  uint16_t in_flight() const noexcept { return in_flight_; }
  // The device's ring positions: the next avail ring index pop() reads and
  // the used.idx it last published (for tests and diagnostics).
  uint16_t last_avail_idx() const noexcept { return last_avail_; }
  uint16_t used_idx() const noexcept { return used_idx_; }

 private:
  Virtqueue(const GuestMemory& memory, const QueueConfig& config, QueueFeatures features) noexcept
      : memory_(&memory), config_(config), features_(features) {}
  // EVENT_IDX: avail_event = last_avail_ (2.7.10).
  Result<void> publish_avail_event() noexcept;

  const GuestMemory* memory_;
  QueueConfig config_;
  QueueFeatures features_;
  uint16_t last_avail_ = 0;    // next avail ring index the device will read
  uint16_t used_idx_ = 0;      // device's copy of used.idx
  uint16_t signalled_used_ = 0;  // used.idx at the last needs_interrupt()
  uint16_t in_flight_ = 0;
  bool notifications_enabled_ = true;  // last set_notifications(); a fresh queue notifies
};

}  // namespace keel::virtio
