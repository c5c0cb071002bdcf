// The contract between a virtio device model (virtio-blk, virtio-net, ...)
// and its transport (virtio/pci). The transport owns feature negotiation,
// the status state machine, the queues' configuration and interrupts; the
// device owns what its queues carry.
//
// Threads and locking: one mutex per device, VirtioContext::lock(). The
// transport holds it around every call into the device (activate, reset,
// queue_notified, config access). The device takes it in its own callbacks
// (I/O completions on the event loop) before touching queues or calling the
// context.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>

#include "keel/guest_memory.h"
#include "virtio/core/virtqueue.h"

namespace keel::virtio {

class VirtioContext {
 public:
  virtual ~VirtioContext() = default;
  virtual std::mutex& lock() noexcept = 0;
  virtual const GuestMemory& memory() const noexcept = 0;
  virtual uint64_t negotiated_features() const noexcept = 0;
  // The live queue `index` (valid from activate() until reset()); nullptr
  // when the driver did not enable it.
  virtual Virtqueue* queue(uint16_t index) noexcept = 0;
  // Used buffers were added to `queue`: interrupt the driver unless the
  // queue's suppression rules (Virtqueue::needs_interrupt) say not to —
  // the queue's MSI-X vector, or ISR bit 0 + INTx.
  virtual void signal_used(uint16_t queue) noexcept = 0;
  // The driver broke the protocol: set DEVICE_NEEDS_RESET and send a config
  // interrupt; the device stops processing until reset. `why` is logged
  // (rate-limited) and must be a string literal.
  virtual void needs_reset(const char* why) noexcept = 0;
  // Device config changed: bump config_generation, config interrupt.
  virtual void config_changed() noexcept = 0;
  // Call queue_notified(queue) again soon, from the event loop, as if the
  // driver had rung the doorbell: for a device that stopped after its
  // per-wake-up budget with work left (bounded work per wake-up). A
  // transport that cannot do this leaves the work to the next doorbell.
  virtual void reschedule(uint16_t queue) noexcept { (void)queue; }
  // A reset for which VirtioDevice::reset() returned false has finished:
  // nothing of the old generation is in flight any more. Called once, with
  // lock() held (from the event loop, or from wait_for_reset()).
  virtual void reset_finished() noexcept {}
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual uint16_t device_type() const noexcept = 0;  // kDeviceTypeBlock, ...
  // Feature bits the device offers. The transport adds VERSION_1,
  // RING_EVENT_IDX and RING_INDIRECT_DESC itself.
  virtual uint64_t device_features() const noexcept = 0;
  virtual uint16_t queue_count() const noexcept = 0;
  virtual uint16_t queue_max_size() const noexcept = 0;
  // The device-specific configuration structure; accesses beyond its size
  // read zero / are ignored (checked by the device).
  virtual void config_read(uint32_t offset, std::span<std::byte> data) noexcept = 0;
  virtual void config_write(uint32_t offset, std::span<const std::byte> data) noexcept = 0;
  // FEATURES_OK: may the driver use these features? (e.g. a device that
  // needs a feature refuses without it). Default: anything offered.
  virtual bool accept_features(uint64_t features) noexcept { (void)features; return true; }
  // DRIVER_OK: queues are live. The context outlives the activation.
  // Return false to refuse (the transport sets DEVICE_NEEDS_RESET).
  virtual bool activate(VirtioContext& context) noexcept = 0;
  // A doorbell for `queue` (event loop thread, lock held).
  virtual void queue_notified(uint16_t queue) noexcept = 0;
  // Driver reset (status 0) or NEEDS_RESET recovery. Lock held. The device
  // stops using the queues at once (no chain popped or pushed after this)
  // and asks its backend to cancel in-flight I/O, without blocking.
  // Returns true when nothing is in flight any more: the reset is done.
  // Returns false when some I/O could not be stopped yet (a read already
  // copying into guest RAM): its results will be dropped as they arrive,
  // and when the last one is in the device calls
  // VirtioContext::reset_finished() (lock held). Until then the transport
  // keeps the old generation alive: device_status does not read 0 and the
  // driver cannot re-initialise (virtio 1.2, 4.1.4.3.2). Calling reset()
  // again while one is pending returns false again (same pending reset).
  virtual bool reset() noexcept = 0;
  // Teardown only (keel exiting), lock held: block until a reset that
  // returned false has finished, calling reset_finished() as it does;
  // bounded by what may be in flight. A device whose reset() always returns
  // true needs nothing here.
  virtual void wait_for_reset() noexcept {}
};

}  // namespace keel::virtio
