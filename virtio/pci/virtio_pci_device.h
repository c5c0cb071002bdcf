// A virtio device on PCI: the virtio 1.2 modern PCI transport (4.1) around
// a VirtioDevice. It owns the PCI identity and capabilities, the common
// configuration register file, feature negotiation and the device status
// machine, the queues' configuration and their Virtqueue objects, MSI-X and
// INTx interrupts, and the queue doorbells.
//
// Layout (virtio_pci_layout.h): BAR0 holds the MSI-X table and PBA
// (queue count + 1 vectors: enough for one per queue plus config; the
// driver picks the mapping); BAR2 (64-bit) holds common cfg at 0x0000, ISR at 0x1000, device cfg at
// 0x2000 and the doorbells at 0x3000 + 4 * queue.
//
// Reset (status 0) never waits under a lock: the device stops serving the
// queues at once and the Virtqueues go away; if the device still has I/O it
// could not cancel, the reset stays pending — device_status keeps its old,
// non-zero value and common config writes are refused — until the device
// reports the last of it reaped (reset_finished(), on the event loop). Only
// then do features, selectors, vectors and status return to 0 (virtio 1.2,
// 4.1.4.3.2: the driver polls device_status for 0 before re-initialising).
//
// Threads and locking: config accesses come from vCPU threads (serialized
// by the host bridge), BAR accesses from any vCPU thread, doorbell handlers
// from the event loop. One mutex (VirtioContext::lock()) guards the device
// and every queue and status change; the VirtioContext methods are called
// by the device with that lock held. The config space bytes have their own
// lock, never held together with the device lock (the PCI_CFG window drops
// it before its BAR access); MSI-X, PciIntx and the doorbell registrations
// lock themselves.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "devices/pci/msix_capability.h"
#include "devices/pci/pci_config_space.h"
#include "devices/pci/pci_device.h"
#include "devices/pci/pci_intx.h"
#include "keel/doorbell.h"
#include "keel/fd_poller.h"
#include "keel/guest_memory.h"
#include "keel/interrupts.h"
#include "virtio/core/virtio_device.h"
#include "virtio/pci/common_config.h"
#include "virtio/pci/queue_doorbells.h"
#include "virtio/pci/virtio_pci_caps.h"

namespace keel::virtio {

class VirtioPciDevice final : public devices::PciDevice, private VirtioContext {
 public:
  // Throws ConfigError for a device the transport cannot carry (no queues,
  // too many queues for MSI-X, a bad maximum queue size) and
  // std::system_error on host failure (eventfds, poller).
  VirtioPciDevice(std::shared_ptr<VirtioDevice> device, const GuestMemory& memory, InterruptController& interrupts,
                  DoorbellRegistrar& doorbells, FdPoller& poller);
  // Stops the doorbell handlers first, then resets an active device so it
  // lets go of this context.
  ~VirtioPciDevice() override;
  VirtioPciDevice(const VirtioPciDevice&) = delete;
  VirtioPciDevice& operator=(const VirtioPciDevice&) = delete;

  // devices::PciDevice
  void config_read(uint16_t offset, std::span<std::byte> data) noexcept override;
  void config_write(uint16_t offset, std::span<const std::byte> data) noexcept override;
  void bar_read(uint8_t bar, uint64_t offset, std::span<std::byte> data) noexcept override;
  void bar_write(uint8_t bar, uint64_t offset, std::span<const std::byte> data) noexcept override;
  std::array<devices::PciBarInfo, devices::kPciBarCount> bar_layout() const noexcept override;
  devices::PciBarRegions decoded_bars() const noexcept override;
  void bars_changed(const devices::PciBarRegions& decoded) noexcept override;
  void connect_intx(std::shared_ptr<IrqLine> line) noexcept override;
  // Machine reset: configuration space, MSI-X and INTx to power-on, then the
  // transport's device reset -- the path a driver's status-0 write takes, so
  // in-flight I/O is cancelled or finishes later (reset_pending()) and
  // nothing here waits for it.
  void reset() noexcept override;

  // Statistics / tests.
  // Doorbell writes that arrived as MMIO exits (no ioeventfd registered).
  uint64_t fallback_notifications() const noexcept { return fallback_notifications_.load(); }
  // Doorbells registered with the DoorbellRegistrar right now.
  size_t registered_doorbells() const noexcept { return doorbells_->registered(); }
  int doorbell_eventfd(uint16_t queue) const noexcept { return doorbells_->eventfd(queue); }
  const pci::VirtioCapOffsets& capability_offsets() const noexcept { return caps_; }
  uint16_t msix_capability_offset() const noexcept { return msix_.capability_offset(); }
  uint8_t device_status() const noexcept;
  // A status-0 write is waiting for in-flight I/O (VirtioDevice::reset()
  // returned false); device_status still reads its old value.
  bool reset_pending() const noexcept;

 private:
  // VirtioContext (the device calls these with lock() held).
  std::mutex& lock() noexcept override { return lock_; }
  const GuestMemory& memory() const noexcept override { return memory_; }
  uint64_t negotiated_features() const noexcept override;
  Virtqueue* queue(uint16_t index) noexcept override;
  void signal_used(uint16_t queue) noexcept override;
  void needs_reset(const char* why) noexcept override;
  void config_changed() noexcept override;
  void reschedule(uint16_t queue) noexcept override;
  void reset_finished() noexcept override;

  // BAR2 regions (lock_ held).
  void common_read(uint64_t offset, std::span<std::byte> data) noexcept;
  void common_write(uint64_t offset, std::span<const std::byte> data) noexcept;
  uint8_t isr_read_and_clear() noexcept;
  void notify_write(uint64_t offset) noexcept;

  // Status machine, virtio_pci_status.cc (lock_ held).
  void write_status(uint8_t value) noexcept;
  void reset_device() noexcept;
  void finish_reset() noexcept;
  bool features_ok() noexcept;
  void driver_ok() noexcept;
  void set_needs_reset(const char* why) noexcept;

  // Interrupts (lock_ held).
  void interrupt(uint16_t vector, uint8_t isr_bit) noexcept;
  void update_intx() noexcept;

  // Doorbell handler (loop thread).
  void queue_notified(uint16_t queue) noexcept;

  std::shared_ptr<VirtioDevice> device_;
  const GuestMemory& memory_;
  DoorbellRegistrar& registrar_;

  mutable std::mutex config_lock_;  // guards config_; never held with lock_
  devices::PciConfigSpace config_;
  pci::VirtioCapOffsets caps_;
  devices::MsixCapability msix_;
  devices::PciIntx intx_;  // locks itself; Interrupt Disable read atomically

  mutable std::mutex lock_;  // the device lock, VirtioContext::lock()
  pci::CommonConfig common_;
  std::vector<std::optional<Virtqueue>> queues_;  // live from DRIVER_OK until reset
  bool activated_ = false;
  bool reset_pending_ = false;  // status 0 written, old I/O still in flight
  uint8_t isr_ = 0;  // 4.1.4.5 ISR status
  std::atomic<uint64_t> fallback_notifications_{0};

  // Last: destroyed first, so no doorbell handler runs while the rest of
  // the object goes away.
  std::unique_ptr<pci::QueueDoorbells> doorbells_;
};

}  // namespace keel::virtio
