// The device status state machine of VirtioPciDevice (virtio 1.2, 2.1 and
// 3.1.1): reset, feature negotiation (FEATURES_OK) and activation
// (DRIVER_OK), and DEVICE_NEEDS_RESET. Every function runs with the device
// lock held.
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

void VirtioPciDevice::reset_device() noexcept {
  // The device stops using queues and guest memory before they go away.
  device_->reset();
  activated_ = false;
  for (auto& queue : queues_) queue.reset();
  common_.reset();
  isr_ = 0;
  update_intx();
}

// 2.1.2: the device sets DEVICE_NEEDS_RESET and, if DRIVER_OK is set,
// sends a configuration change notification.
void VirtioPciDevice::set_needs_reset(const char* why) noexcept {
  log_guest_error(why);
  const uint8_t old_status = common_.status();
  common_.set_status(old_status | status::kDeviceNeedsReset);
  if ((old_status & status::kDeviceNeedsReset) == 0 && (old_status & status::kDriverOk)) {
    interrupt(common_.config_msix_vector(), kIsrConfig);
  }
}

}  // namespace keel::virtio
