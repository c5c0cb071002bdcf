// The device status state machine of VirtioPciDevice (virtio 1.2, 2.1 and
// 3.1.1): reset, feature negotiation (FEATURES_OK) and activation
// (DRIVER_OK), and DEVICE_NEEDS_RESET. Every function runs with the device
// lock held. A reset whose in-flight I/O cannot be stopped at once stays
// pending (device_status not yet 0) until the device calls reset_finished().
#include "virtio/pci/virtio_pci_device.h"
#include "virtio/pci/virtio_pci_layout.h"
#include "virtio/pci/virtio_pci_log.h"

namespace keel::virtio {

using namespace pci;

void VirtioPciDevice::write_status(uint8_t value) noexcept {
  // 2.1.2 / 4.1.4.3.1: writing 0 resets the device.
  if (value == 0) {
    reset_device();
    return;
  }
  const uint8_t old_status = common_.status();
  // DEVICE_NEEDS_RESET is the device's bit: the driver neither sets nor
  // clears it (only a reset does).
  uint8_t next = static_cast<uint8_t>((value & ~status::kDeviceNeedsReset) | (old_status & status::kDeviceNeedsReset));
  // 3.1.1: the driver only ever adds bits. A write that clears one is a
  // driver bug; keep the status as it was.
  if ((old_status & ~next) != 0) {
    log_guest_error("device_status write clears bits; ignored", value);
    return;
  }
  const uint8_t added = next & ~old_status;
  if ((added & status::kFeaturesOk) && !features_ok()) {
    // 3.1.1 step 6: the driver re-reads the status; FEATURES_OK not being
    // set tells it the device refused this feature set.
    next &= static_cast<uint8_t>(~status::kFeaturesOk);
  }
  if ((added & status::kDriverOk) && !(next & status::kFeaturesOk)) {
    log_guest_error("DRIVER_OK without FEATURES_OK; ignored", value);
    next &= static_cast<uint8_t>(~status::kDriverOk);
  }
  common_.set_status(next);
  if (next & ~old_status & status::kDriverOk) driver_ok();
}

bool VirtioPciDevice::features_ok() noexcept {
  const uint64_t features = common_.driver_features();
  // keel is a modern-only device: a driver that did not accept VERSION_1
  // would use legacy ring layouts (6.1, 7.1).
  if (!(features & feature::kVersion1)) return false;
  return device_->accept_features(features);
}

void VirtioPciDevice::driver_ok() noexcept {
  if (common_.status() & status::kDeviceNeedsReset) return;
  const uint64_t features = common_.driver_features();
  const QueueFeatures queue_features{
      .event_idx = (features & feature::kRingEventIdx) != 0,
      .indirect = (features & feature::kRingIndirectDesc) != 0,
  };
  for (uint16_t index = 0; index < common_.queue_count(); ++index) {
    const QueueRegisters& regs = common_.queue(index);
    if (!regs.enabled) continue;
    const QueueConfig config{.size = regs.size, .desc = regs.desc, .driver = regs.driver, .device = regs.device};
    Result<Virtqueue> created = Virtqueue::create(memory_, config, queue_features, common_.queue_max_size());
    if (!created) {
      for (auto& queue : queues_) queue.reset();
      log_guest_error(created.error().what, index);
      set_needs_reset("queue configuration rejected at DRIVER_OK");
      return;
    }
    queues_[index].emplace(std::move(*created));
  }
  if (!device_->activate(*this)) {
    for (auto& queue : queues_) queue.reset();
    set_needs_reset("device refused activation");
    return;
  }
  activated_ = true;
}

void VirtioPciDevice::reset() noexcept {
  {
    // config_lock_ then MSI-X's own lock, the order config_write() takes.
    std::lock_guard guard(config_lock_);
    config_.reset();
    msix_.reset();
  }
  intx_.reset();
  std::lock_guard guard(lock_);
  reset_device();
  isr_ = 0;
  update_intx();
}

void VirtioPciDevice::reset_device() noexcept {
  if (reset_pending_) return;  // already on its way to 0
  // The device stops serving the queues first, then they go away: no chain
  // of the old generation is popped or pushed after this, and doorbells
  // are ignored (queue_notified() checks activated_).
  const bool finished = device_->reset();
  activated_ = false;
  for (auto& queue : queues_) queue.reset();
  if (!finished) {
    // Some I/O could not be stopped, and waiting here would hold this lock
    // (and through PCI_CFG the host bridge's) for as long as the disk
    // likes. 4.1.4.3.2: the driver waits for device_status to read 0 before
    // re-initialising; until reset_finished() it keeps its old (non-zero)
    // value and common config writes are refused.
    reset_pending_ = true;
    return;
  }
  finish_reset();
}

void VirtioPciDevice::finish_reset() noexcept {
  reset_pending_ = false;
  common_.reset();  // status 0, features, selectors, vectors, queue registers
  isr_ = 0;
  update_intx();
}

void VirtioPciDevice::reset_finished() noexcept {
  if (reset_pending_) finish_reset();
}

// 2.1.2: the device sets DEVICE_NEEDS_RESET and, if DRIVER_OK is set,
// sends a configuration change notification.
void VirtioPciDevice::set_needs_reset(const char* why) noexcept {
  log_guest_error(why);
  if (reset_pending_) return;  // the driver is resetting already; stay quiet
  const uint8_t old_status = common_.status();
  common_.set_status(old_status | status::kDeviceNeedsReset);
  if ((old_status & status::kDeviceNeedsReset) == 0 && (old_status & status::kDriverOk)) {
    interrupt(common_.config_msix_vector(), kIsrConfig);
  }
}

}  // namespace keel::virtio
