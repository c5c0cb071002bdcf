#include "devices/pci/pci_config_space.h"

#include <fmt/format.h>

#include <bit>

#include "keel/config_error.h"

namespace keel::devices {

using namespace pci_reg;

namespace {

constexpr uint16_t kWritableCommandBits =
    kCommandIo | kCommandMemory | kCommandBusMaster | kCommandParityResponse | kCommandSerr | kCommandIntxDisable;

bool access_fits(uint16_t offset, size_t size) noexcept {
  return size > 0 && size <= 8 && offset < kPciConfigSpaceSize && size <= kPciConfigSpaceSize - offset;
}

}  // namespace

PciConfigSpace::PciConfigSpace(const PciIdentity& identity) noexcept {
  set_bytes(kVendorId, identity.vendor_id, 2);
  set_bytes(kDeviceId, identity.device_id, 2);
  set_bytes(kRevision, identity.revision, 1);
  set_bytes(kClassCode, identity.class_code & 0xFF'FFFF, 3);
  set_bytes(kHeaderType, 0, 1);  // type 0, single function
  set_bytes(kSubsystemVendorId, identity.subsystem_vendor_id, 2);
  set_bytes(kSubsystemId, identity.subsystem_id, 2);
  set_bytes(kInterruptPin, identity.interrupt_pin <= 4 ? identity.interrupt_pin : 0, 1);

  set_mask(kCommand, kWritableCommandBits, 2);
  for (int i = 0; i < 2; ++i) w1c_mask_[kStatus + i] = static_cast<uint8_t>(kStatusW1cBits >> (8 * i));
  // Cache line size and latency timer are plain read/write registers that
  // guests (and Linux's pci_set_master) program; we keep what they write.
  set_mask(kCacheLineSize, 0xFF, 1);
  set_mask(kLatencyTimer, 0xFF, 1);
  // Interrupt line is a scratch register for the OS; the pin is fixed.
  set_mask(kInterruptLine, 0xFF, 1);
  // Expansion ROM BAR: not implemented -> reads 0, size probe returns 0.
}

void PciConfigSpace::set_bytes(uint16_t offset, uint64_t value, size_t count) noexcept {
  for (size_t i = 0; i < count; ++i) bytes_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

void PciConfigSpace::set_mask(uint16_t offset, uint64_t mask, size_t count) noexcept {
  for (size_t i = 0; i < count; ++i) write_mask_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
}

void PciConfigSpace::add_bar(uint8_t index, const PciBarInfo& bar) {
  const bool is64 = bar.kind == PciBarKind::memory64;
  if (index >= kPciBarCount || (is64 && index + 1 >= kPciBarCount)) {
    throw ConfigError(fmt::format("PCI BAR {} does not exist (a 64-bit BAR needs two slots)", index));
  }
  if (bars_[index].kind != PciBarKind::none || (is64 && bars_[index + 1].kind != PciBarKind::none)) {
    throw ConfigError(fmt::format("PCI BAR {} is already defined", index));
  }
  if (!std::has_single_bit(bar.size)) throw ConfigError(fmt::format("PCI BAR {} size {:#x} is not a power of two", index, bar.size));
  const uint16_t reg = static_cast<uint16_t>(kBar0 + 4 * index);
  switch (bar.kind) {
    case PciBarKind::io:
      // PCI 3.0 6.2.5.1: an I/O BAR may claim at most 256 bytes.
      if (bar.size < 4 || bar.size > 256 || bar.prefetchable) throw ConfigError(fmt::format("PCI I/O BAR {} size {:#x} is not 4..256", index, bar.size));
      set_bytes(reg, kBarIoSpace, 4);
      set_mask(reg, ~(bar.size - 1) & ~uint64_t{0x3}, 4);
      break;
    case PciBarKind::memory32:
      if (bar.size < 16 || bar.size > (uint64_t{1} << 31)) throw ConfigError(fmt::format("PCI BAR {} size {:#x} is not 16 B..2 GiB", index, bar.size));
      set_bytes(reg, bar.prefetchable ? kBarPrefetchable : 0, 4);
      set_mask(reg, ~(bar.size - 1) & ~uint64_t{0xF}, 4);
      break;
    case PciBarKind::memory64: {
      if (bar.size < 16 || bar.size > (uint64_t{1} << 62)) throw ConfigError(fmt::format("PCI BAR {} size {:#x} is not 16 B..4 EiB", index, bar.size));
      set_bytes(reg, kBarMemory64 | (bar.prefetchable ? kBarPrefetchable : 0), 4);
      set_mask(reg, ~(bar.size - 1) & ~uint64_t{0xF}, 8);  // both dwords
      bars_[index + 1] = PciBarInfo{PciBarKind::memory64_upper, 0, false};
      break;
    }
    default:
      throw ConfigError(fmt::format("PCI BAR {}: not a BAR kind a device can declare", index));
  }
  bars_[index] = bar;
}

uint16_t PciConfigSpace::add_capability(uint8_t id, std::span<const uint8_t> body,
                                        std::span<const uint8_t> body_write_mask) {
  if (body.size() != body_write_mask.size()) throw ConfigError("PCI capability: body and write mask differ in length");
  const uint16_t offset = next_capability_;
  const size_t length = 2 + body.size();
  if (length > size_t{kLegacyConfigEnd} - offset) throw ConfigError("PCI capabilities do not fit below config offset 0x100");
  bytes_[offset] = id;
  bytes_[offset + 1] = 0;  // end of list
  for (size_t i = 0; i < body.size(); ++i) {
    bytes_[offset + 2 + i] = body[i];
    write_mask_[offset + 2 + i] = body_write_mask[i];
  }
  if (last_capability_ == 0) {
    bytes_[kCapabilitiesPointer] = static_cast<uint8_t>(offset);
  } else {
    bytes_[last_capability_ + 1] = static_cast<uint8_t>(offset);
  }
  bytes_[kStatus] |= kStatusCapabilities;
  last_capability_ = offset;
  next_capability_ = static_cast<uint16_t>((offset + length + 3) & ~size_t{3});
  return offset;
}

void PciConfigSpace::read(uint16_t offset, std::span<std::byte> data) const noexcept {
  if (!access_fits(offset, data.size())) {
    for (std::byte& b : data) b = std::byte{0xFF};
    return;
  }
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte{bytes_[offset + i]};
  if (offset <= kStatus && offset + data.size() > kStatus && interrupt_status_.load(std::memory_order_relaxed)) {
    data[kStatus - offset] |= std::byte{kStatusInterrupt};
  }
}

void PciConfigSpace::write(uint16_t offset, std::span<const std::byte> data) noexcept {
  if (!access_fits(offset, data.size())) return;
  for (size_t i = 0; i < data.size(); ++i) {
    const size_t at = offset + i;
    const uint8_t value = std::to_integer<uint8_t>(data[i]);
    bytes_[at] = static_cast<uint8_t>((bytes_[at] & ~write_mask_[at]) | (value & write_mask_[at]));
    bytes_[at] = static_cast<uint8_t>(bytes_[at] & ~(value & w1c_mask_[at]));
  }
  update_command_mirror();
}

uint32_t PciConfigSpace::read_dword(uint16_t offset) const noexcept {
  if (!access_fits(offset, 4)) return 0xFFFF'FFFF;
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value |= uint32_t{bytes_[offset + i]} << (8 * i);
  if (offset <= kStatus && offset + 4 > kStatus && interrupt_status_.load(std::memory_order_relaxed)) {
    value |= uint32_t{kStatusInterrupt} << (8 * (kStatus - offset));
  }
  return value;
}

void PciConfigSpace::set_dword(uint16_t offset, uint32_t value) noexcept {
  if (access_fits(offset, 4)) set_bytes(offset, value, 4);
  update_command_mirror();
}

void PciConfigSpace::reset() noexcept {
  for (size_t i = 0; i < bytes_.size(); ++i) bytes_[i] &= static_cast<uint8_t>(~(write_mask_[i] | w1c_mask_[i]));
  interrupt_status_.store(false, std::memory_order_relaxed);
  update_command_mirror();
}

void PciConfigSpace::update_command_mirror() noexcept {
  intx_disabled_.store((command() & kCommandIntxDisable) != 0, std::memory_order_relaxed);
}

void PciConfigSpace::set_interrupt_status(bool asserted) noexcept {
  interrupt_status_.store(asserted, std::memory_order_relaxed);
}

bool PciConfigSpace::interrupt_status() const noexcept { return interrupt_status_.load(std::memory_order_relaxed); }

bool PciConfigSpace::intx_disabled() const noexcept { return intx_disabled_.load(std::memory_order_relaxed); }

uint16_t PciConfigSpace::command() const noexcept {
  return static_cast<uint16_t>(bytes_[kCommand] | (bytes_[kCommand + 1] << 8));
}

uint64_t PciConfigSpace::bar_address(uint8_t index) const noexcept {
  if (index >= kPciBarCount) return 0;
  const uint16_t reg = static_cast<uint16_t>(kBar0 + 4 * index);
  switch (bars_[index].kind) {
    case PciBarKind::io:
      return read_dword(reg) & ~uint32_t{0x3};
    case PciBarKind::memory32:
      return read_dword(reg) & ~uint32_t{0xF};
    case PciBarKind::memory64:
      return (read_dword(reg) & ~uint64_t{0xF}) | (uint64_t{read_dword(reg + 4)} << 32);
    default:
      return 0;
  }
}

PciBarRegions PciConfigSpace::decoded_bars() const noexcept {
  PciBarRegions regions{};
  const uint16_t cmd = command();
  for (uint8_t i = 0; i < kPciBarCount; ++i) {
    const PciBarInfo& bar = bars_[i];
    const bool io = bar.kind == PciBarKind::io;
    const bool memory = bar.kind == PciBarKind::memory32 || bar.kind == PciBarKind::memory64;
    if ((io && (cmd & kCommandIo)) || (memory && (cmd & kCommandMemory))) {
      regions[i] = PciBarRegion{io, bar_address(i), bar.size};
    }
  }
  return regions;
}

}  // namespace keel::devices
