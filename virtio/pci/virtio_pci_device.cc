#include "virtio/pci/virtio_pci_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>

#include "keel/config_error.h"
#include "virtio/pci/virtio_pci_layout.h"
#include "virtio/pci/virtio_pci_log.h"

namespace keel::virtio {

using namespace pci;
using devices::PciBarInfo;
using devices::PciBarKind;

namespace {

// Features the transport itself provides (virtio 1.2, 6): modern-only
// devices (VERSION_1), and the split-ring extensions Virtqueue implements.
constexpr uint64_t kTransportFeatures = feature::kVersion1 | feature::kRingEventIdx | feature::kRingIndirectDesc;

std::shared_ptr<VirtioDevice> checked(std::shared_ptr<VirtioDevice> device) {
  if (!device) throw ConfigError("virtio-pci: no device");
  const uint16_t queues = device->queue_count();
  if (queues == 0) throw ConfigError("virtio-pci: a device needs at least one queue");
  // One MSI-X vector per queue plus one for config changes.
  if (queues >= devices::MsixCapability::kMaxVectors) {
    throw ConfigError(fmt::format("virtio-pci: {} queues need more MSI-X vectors than a function has", queues));
  }
  // Doorbells must fit in the notify region.
  if (uint64_t{queues} * kNotifyOffMultiplier > kRegionSize) {
    throw ConfigError(fmt::format("virtio-pci: {} queues do not fit the notify region", queues));
  }
  const uint16_t max = device->queue_max_size();
  if (max == 0 || !std::has_single_bit(max) || max > ring::kMaxQueueSize) {
    throw ConfigError(fmt::format("virtio-pci: maximum queue size {} is not a power of two in 1..32768", max));
  }
  return device;
}

// 4.1.2: class codes as QEMU gives them.
uint32_t class_code(uint16_t device_type) noexcept {
  switch (device_type) {
    case kDeviceTypeBlock:
      return kClassMassStorageOther;
    case kDeviceTypeNet:
      return kClassNetworkEthernet;
    default:
      return kClassUnclassified;
  }
}

uint16_t vector_count(const VirtioDevice& device) noexcept { return static_cast<uint16_t>(device.queue_count() + 1); }

// The PBA follows the table, 8-byte aligned (PCI 3.0 6.8.2.5).
uint32_t pba_offset(const VirtioDevice& device) noexcept {
  return static_cast<uint32_t>(kMsixTableOffset + devices::MsixCapability::kEntrySize * vector_count(device));
}

uint64_t msix_bar_size(const VirtioDevice& device) noexcept {
  const uint64_t pba_size = 8 * ((vector_count(device) + 63) / 64);
  return std::bit_ceil(std::max<uint64_t>(kMsixBarMinSize, pba_offset(device) + pba_size));
}

devices::PciIdentity identity(const VirtioDevice& device) noexcept {
  return devices::PciIdentity{
      .vendor_id = kVendorId,
      .device_id = static_cast<uint16_t>(kDeviceIdBase + device.device_type()),
      .revision = kRevision,
      .class_code = class_code(device.device_type()),
      .subsystem_vendor_id = kSubsystemVendorId,
      .subsystem_id = kSubsystemId,
      .interrupt_pin = 1,  // INTA#
  };
}

// BARs first, then the virtio capabilities (MSI-X is added after them).
VirtioCapOffsets add_bars_and_capabilities(devices::PciConfigSpace& config, const VirtioDevice& device) {
  config.add_bar(kMsixBar, PciBarInfo{PciBarKind::memory32, msix_bar_size(device), false});
  config.add_bar(kVirtioBar, PciBarInfo{PciBarKind::memory64, kVirtioBarSize, false});
  return add_virtio_capabilities(config);
}

uint64_t load_le(std::span<const std::byte> data) noexcept {
  uint64_t value = 0;
  for (size_t i = 0; i < data.size() && i < 8; ++i) value |= std::to_integer<uint64_t>(data[i]) << (8 * i);
  return value;
}

void store_le(std::span<std::byte> data, uint64_t value) noexcept {
  for (size_t i = 0; i < data.size(); ++i) data[i] = i < 8 ? std::byte(value >> (8 * i)) : std::byte{0};
}

bool overlaps(uint16_t offset, size_t size, uint16_t start, size_t length) noexcept {
  return offset < start + length && start < offset + size;
}

}  // namespace

VirtioPciDevice::VirtioPciDevice(std::shared_ptr<VirtioDevice> device, const GuestMemory& memory,
                                 InterruptController& interrupts, DoorbellRegistrar& doorbells, FdPoller& poller)
    : device_(checked(std::move(device))),
      memory_(memory),
      registrar_(doorbells),
      config_(identity(*device_)),
      caps_(add_bars_and_capabilities(config_, *device_)),
      msix_(config_, interrupts, vector_count(*device_), kMsixBar, kMsixTableOffset, kMsixBar, pba_offset(*device_)),
      intx_(config_),
      common_(device_->device_features() | kTransportFeatures, device_->queue_count(), device_->queue_max_size(),
              vector_count(*device_)),
      queues_(device_->queue_count()) {
  doorbells_ = std::make_unique<QueueDoorbells>(poller, device_->queue_count(),
                                                [this](uint16_t queue) { queue_notified(queue); });
}

VirtioPciDevice::~VirtioPciDevice() {
  // Without the device lock: a handler running now may be waiting for it,
  // and remove() waits for the handler.
  doorbells_.reset();
  // Teardown waits (bounded) for I/O that could not be cancelled: the
  // device must not call this context once it is gone. keel joins the vCPUs
  // and stops the event loop before destroying devices (vmm tear_down), so
  // nobody is waiting for this lock.
  std::lock_guard guard(lock_);
  if (activated_ && !device_->reset()) reset_pending_ = true;
  activated_ = false;
  if (reset_pending_) device_->wait_for_reset();  // calls reset_finished()
}

// --- PCI configuration space ---------------------------------------------

void VirtioPciDevice::config_read(uint16_t offset, std::span<std::byte> data) noexcept {
  const uint16_t window = static_cast<uint16_t>(caps_.pci_cfg + cap::kPciCfgData);
  if (overlaps(offset, data.size(), window, 4)) {
    // 4.1.4.9.1: a read of pci_cfg_data performs the programmed BAR read
    // first. The BAR access takes other locks, so not under config_lock_.
    std::optional<PciCfgAccess> access;
    {
      std::lock_guard guard(config_lock_);
      access = pci_cfg_access(config_, caps_.pci_cfg);
    }
    std::array<std::byte, 4> bytes{};
    if (access) bar_read(access->bar, access->offset, std::span(bytes).first(access->length));
    std::lock_guard guard(config_lock_);
    config_.set_dword(window, static_cast<uint32_t>(load_le(bytes)));
    config_.read(offset, data);
    return;
  }
  std::lock_guard guard(config_lock_);
  config_.read(offset, data);
}

void VirtioPciDevice::config_write(uint16_t offset, std::span<const std::byte> data) noexcept {
  const uint16_t window = static_cast<uint16_t>(caps_.pci_cfg + cap::kPciCfgData);
  std::optional<PciCfgAccess> access;
  std::array<std::byte, 4> bytes{};
  {
    std::lock_guard guard(config_lock_);
    config_.write(offset, data);
    msix_.config_written(offset, data.size());
    if (overlaps(offset, data.size(), window, 4)) {
      access = pci_cfg_access(config_, caps_.pci_cfg);
      store_le(bytes, config_.read_dword(window));
    }
  }
  // 4.1.4.9.1: a write of pci_cfg_data performs the programmed BAR write
  // with its first `length` bytes.
  if (access) bar_write(access->bar, access->offset, std::span<const std::byte>(bytes).first(access->length));
  // Interrupt Disable or MSI-X Enable may have changed what INTx shows.
  intx_.config_written();
  std::lock_guard guard(lock_);
  update_intx();
}

std::array<PciBarInfo, devices::kPciBarCount> VirtioPciDevice::bar_layout() const noexcept {
  std::lock_guard guard(config_lock_);
  return config_.bar_layout();
}

devices::PciBarRegions VirtioPciDevice::decoded_bars() const noexcept {
  std::lock_guard guard(config_lock_);
  return config_.decoded_bars();
}

void VirtioPciDevice::bars_changed(const devices::PciBarRegions& decoded) noexcept {
  std::optional<uint64_t> notify_base;
  const auto& bar = decoded[kVirtioBar];
  if (bar && !bar->io && bar->size >= kVirtioBarSize) notify_base = bar->address + kNotifyOffset;
  doorbells_->place(registrar_, notify_base, kNotifyOffMultiplier);
}

void VirtioPciDevice::connect_intx(std::shared_ptr<IrqLine> line) noexcept { intx_.connect(std::move(line)); }

uint8_t VirtioPciDevice::device_status() const noexcept {
  std::lock_guard guard(lock_);
  return common_.status();
}

bool VirtioPciDevice::reset_pending() const noexcept {
  std::lock_guard guard(lock_);
  return reset_pending_;
}

// --- BAR accesses ----------------------------------------------------------

void VirtioPciDevice::bar_read(uint8_t bar, uint64_t offset, std::span<std::byte> data) noexcept {
  std::ranges::fill(data, std::byte{0});
  if (bar == kMsixBar) {
    msix_.bar_read(bar, offset, data);  // outside table and PBA: reads 0
    return;
  }
  if (bar != kVirtioBar || offset >= kVirtioBarSize) return;
  const uint64_t region = offset & ~(kRegionSize - 1);
  const uint64_t within = offset - region;
  if (data.size() > kRegionSize - within) return;  // crosses two structures
  std::lock_guard guard(lock_);
  switch (region) {
    case kCommonCfgOffset:
      common_read(within, data);
      break;
    case kIsrOffset:
      // 4.1.4.5: reading the ISR byte returns and clears it.
      if (within == 0 && !data.empty()) data[0] = std::byte{isr_read_and_clear()};
      break;
    case kDeviceCfgOffset:
      device_->config_read(static_cast<uint32_t>(within), data);
      break;
    default:
      break;  // notify region: write-only
  }
}

void VirtioPciDevice::bar_write(uint8_t bar, uint64_t offset, std::span<const std::byte> data) noexcept {
  if (bar == kMsixBar) {
    msix_.bar_write(bar, offset, data);
    return;
  }
  if (bar != kVirtioBar || offset >= kVirtioBarSize) return;
  const uint64_t region = offset & ~(kRegionSize - 1);
  const uint64_t within = offset - region;
  if (data.size() > kRegionSize - within) return;
  if (region == kNotifyOffset) {
    notify_write(within);  // no device lock: it only signals an eventfd
    return;
  }
  std::lock_guard guard(lock_);
  switch (region) {
    case kCommonCfgOffset:
      common_write(within, data);
      break;
    case kDeviceCfgOffset:
      device_->config_write(static_cast<uint32_t>(within), data);
      break;
    default:
      break;  // ISR is read-only
  }
}

void VirtioPciDevice::common_read(uint64_t offset, std::span<std::byte> data) noexcept {
  if (offset >= common::kSize) return;
  store_le(data, common_.read(static_cast<uint16_t>(offset), data.size()));
}

void VirtioPciDevice::common_write(uint64_t offset, std::span<const std::byte> data) noexcept {
  if (offset >= common::kSize) return;
  if (reset_pending_) {
    // 4.1.4.3.2: the driver must wait for device_status to read 0 before
    // re-initialising; features, queue set-up and status written before
    // then are refused (a second 0 changes nothing either).
    log_guest_error("common config write while a reset is pending; ignored", offset);
    return;
  }
  const std::optional<uint8_t> status = common_.write(static_cast<uint16_t>(offset), data.size(), load_le(data));
  if (status) write_status(*status);
}

// A doorbell that reached keel as an MMIO exit because no ioeventfd was
// registered for it: the same eventfd, so the loop handles it the same way.
void VirtioPciDevice::notify_write(uint64_t offset) noexcept {
  if (offset % kNotifyOffMultiplier != 0 || offset / kNotifyOffMultiplier >= device_->queue_count()) {
    log_guest_error("doorbell write outside the queue doorbells", offset);
    return;
  }
  fallback_notifications_.fetch_add(1, std::memory_order_relaxed);
  doorbells_->signal(static_cast<uint16_t>(offset / kNotifyOffMultiplier));
}

void VirtioPciDevice::queue_notified(uint16_t queue) noexcept {
  std::lock_guard guard(lock_);
  const uint8_t status = common_.status();
  // Before DRIVER_OK the queue is not live; after NEEDS_RESET the device
  // must not process it until the driver resets (2.1.2).
  if (!activated_ || !(status & status::kDriverOk) || (status & status::kDeviceNeedsReset)) return;
  if (this->queue(queue) == nullptr) return;
  device_->queue_notified(queue);
}

// --- VirtioContext -----------------------------------------------------------

uint64_t VirtioPciDevice::negotiated_features() const noexcept { return common_.driver_features(); }

Virtqueue* VirtioPciDevice::queue(uint16_t index) noexcept {
  if (index >= queues_.size() || !queues_[index]) return nullptr;
  return &*queues_[index];
}

void VirtioPciDevice::signal_used(uint16_t index) noexcept {
  Virtqueue* live = queue(index);
  if (live == nullptr || !live->needs_interrupt()) return;
  interrupt(common_.queue(index).msix_vector, kIsrQueue);
}

void VirtioPciDevice::needs_reset(const char* why) noexcept { set_needs_reset(why); }

void VirtioPciDevice::config_changed() noexcept {
  common_.bump_config_generation();
  // 4.1.5.3: only a driver that is up hears about it (not one resetting).
  if ((common_.status() & status::kDriverOk) && !reset_pending_) interrupt(common_.config_msix_vector(), kIsrConfig);
}

// Signals the queue's doorbell eventfd: the loop runs queue_notified()
// again after the handlers already waiting, as for a guest doorbell.
void VirtioPciDevice::reschedule(uint16_t queue) noexcept { doorbells_->signal(queue); }

// --- Interrupts --------------------------------------------------------------

// 4.1.5.3 / 4.1.5.4: with MSI-X enabled, the mapped vector (none for
// NO_VECTOR); otherwise the ISR bit and INTx. The config bit is set in
// either case (4.1.4.5.1).
void VirtioPciDevice::interrupt(uint16_t vector, uint8_t isr_bit) noexcept {
  if (msix_.enabled()) {
    if (isr_bit == kIsrConfig) isr_ |= isr_bit;
    if (vector != kNoVector) msix_.notify(vector);
    return;
  }
  isr_ |= isr_bit;
  update_intx();
}

uint8_t VirtioPciDevice::isr_read_and_clear() noexcept {
  const uint8_t value = isr_;
  isr_ = 0;
  update_intx();
  return value;
}

// The pin is asserted while an ISR bit is set, unless MSI-X is on (PCI 3.0
// 6.8.2: a function using MSI-X must not assert INTx); PciIntx applies the
// command register's Interrupt Disable.
void VirtioPciDevice::update_intx() noexcept { intx_.set_asserted(isr_ != 0 && !msix_.enabled()); }

}  // namespace keel::virtio
