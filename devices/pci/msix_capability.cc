#include "devices/pci/msix_capability.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "keel/config_error.h"

namespace keel::devices {

namespace {

// Capability layout (PCI 3.0 6.8.2): ID, next, Message Control (table size
// N-1 in bits 10:0, Function Mask bit 14, Enable bit 15), Table
// Offset/BIR, PBA Offset/BIR. Offsets below are into the capability.
constexpr uint16_t kControl = 2;
constexpr size_t kBodySize = 10;  // everything after ID and next pointer

// True when [offset, offset + size) touches [start, start + length).
bool overlaps(uint64_t offset, size_t size, uint64_t start, uint64_t length) noexcept {
  if (size == 0 || length == 0) return false;
  return offset < start + length && (offset >= start || start - offset < size);
}

// An access the table and PBA serve: 4 or 8 bytes, naturally aligned,
// wholly inside (PCI 3.0 6.8.2: software uses DWORD or QWORD accesses;
// others have undefined results, here reads 0 / ignored writes).
bool well_formed(uint64_t offset, size_t size, uint64_t start, uint64_t length) noexcept {
  return (size == 4 || size == 8) && offset >= start && offset - start <= length - size &&
         (offset - start) % size == 0;
}

void validate_region(const PciConfigSpace& config, const char* what, uint8_t bar, uint32_t offset, uint64_t size) {
  if (bar >= kPciBarCount) throw ConfigError(fmt::format("MSI-X {} BAR {} does not exist", what, bar));
  if (offset % 8 != 0) throw ConfigError(fmt::format("MSI-X {} offset {:#x} is not 8-byte aligned", what, offset));
  const PciBarInfo& info = config.bar_layout()[bar];
  if (info.kind != PciBarKind::memory32 && info.kind != PciBarKind::memory64) {
    throw ConfigError(fmt::format("MSI-X {} BAR {} is not a declared memory BAR", what, bar));
  }
  if (offset > info.size || size > info.size - offset) {
    throw ConfigError(fmt::format("MSI-X {} [{:#x}, +{:#x}) does not fit in BAR {} ({:#x} bytes)", what, offset, size,
                                  bar, info.size));
  }
}

}  // namespace

MsixCapability::MsixCapability(PciConfigSpace& config, InterruptController& interrupts, uint16_t vector_count,
                               uint8_t table_bar, uint32_t table_offset, uint8_t pba_bar, uint32_t pba_offset)
    : config_(config), table_bar_(table_bar), pba_bar_(pba_bar), table_offset_(table_offset), pba_offset_(pba_offset) {
  if (vector_count == 0 || vector_count > kMaxVectors) {
    throw ConfigError(fmt::format("MSI-X vector count {} is not 1..{}", vector_count, kMaxVectors));
  }
  const uint64_t table_bytes = kEntrySize * vector_count;
  const uint64_t pba_bytes = 8 * ((uint64_t{vector_count} + 63) / 64);
  validate_region(config, "table", table_bar, table_offset, table_bytes);
  validate_region(config, "PBA", pba_bar, pba_offset, pba_bytes);
  if (table_bar == pba_bar && overlaps(pba_offset, pba_bytes, table_offset, table_bytes)) {
    throw ConfigError("MSI-X table and PBA overlap");
  }

  const uint16_t control = static_cast<uint16_t>(vector_count - 1);
  const uint32_t table = table_offset | table_bar;
  const uint32_t pba = pba_offset | pba_bar;
  const std::array<uint8_t, kBodySize> body = {
      static_cast<uint8_t>(control), static_cast<uint8_t>(control >> 8),
      static_cast<uint8_t>(table),   static_cast<uint8_t>(table >> 8),
      static_cast<uint8_t>(table >> 16), static_cast<uint8_t>(table >> 24),
      static_cast<uint8_t>(pba),     static_cast<uint8_t>(pba >> 8),
      static_cast<uint8_t>(pba >> 16), static_cast<uint8_t>(pba >> 24)};
  // Only Enable and Function Mask are writable; table size and the
  // offset/BIR registers are read-only.
  const std::array<uint8_t, kBodySize> mask = {0x00, static_cast<uint8_t>((kControlEnable | kControlFunctionMask) >> 8),
                                               0, 0, 0, 0, 0, 0, 0, 0};
  entries_.resize(vector_count);
  for (Entry& entry : entries_) entry.vector = interrupts.create_msi_vector();
  cap_offset_ = config.add_capability(kCapabilityId, body, mask);
}

bool MsixCapability::deliverable(const Entry& entry) const noexcept {
  return enable_ && !function_mask_ && !(entry.control & kEntryMasked);
}

void MsixCapability::settle(Entry& entry) noexcept {
  // Route only unmasked entries: drivers (Linux among them) write address
  // and data while the entry is masked and then unmask it, so the masked
  // intermediate states never cost a routing update.
  if (!(entry.control & kEntryMasked)) {
    const MsiMessage message{(uint64_t{entry.address_high} << 32) | entry.address_low, entry.data};
    if (entry.routed != message) {
      entry.vector->set_message(message);
      entry.routed = message;
    }
  }
  // 6.8.2.9: a pending message is sent once the vector is unmasked.
  if (entry.pending && deliverable(entry)) {
    entry.pending = false;
    entry.vector->trigger();
  }
}

void MsixCapability::config_written(uint16_t offset, size_t length) noexcept {
  if (!overlaps(offset, length, uint64_t{cap_offset_} + kControl, 2)) return;
  const uint16_t control = static_cast<uint16_t>(config_.read_dword(cap_offset_) >> 16);
  std::lock_guard guard(lock_);
  enable_ = (control & kControlEnable) != 0;
  function_mask_ = (control & kControlFunctionMask) != 0;
  for (Entry& entry : entries_) settle(entry);
}

uint32_t MsixCapability::entry_dword(const Entry& entry, uint64_t dword) const noexcept {
  switch (dword) {
    case 0: return entry.address_low;
    case 1: return entry.address_high;
    case 2: return entry.data;
    default: return entry.control;
  }
}

void MsixCapability::set_entry_dword(Entry& entry, uint64_t dword, uint32_t value) noexcept {
  switch (dword) {
    case 0: entry.address_low = value & ~uint32_t{0x3}; break;  // DWORD aligned: bits 1:0 read 0
    case 1: entry.address_high = value; break;
    case 2: entry.data = value; break;
    default: entry.control = value & kEntryMasked; break;  // bits 31:1 reserved, read 0
  }
}

uint64_t MsixCapability::pba_qword(uint64_t index) const noexcept {
  uint64_t bits = 0;
  const size_t first = index * 64;
  for (size_t i = first; i < std::min(entries_.size(), first + 64); ++i) {
    if (entries_[i].pending) bits |= uint64_t{1} << (i - first);
  }
  return bits;
}

bool MsixCapability::bar_read(uint8_t bar, uint64_t offset, std::span<std::byte> data) noexcept {
  const size_t size = data.size();
  uint64_t value = 0;
  if (bar == table_bar_ && overlaps(offset, size, table_offset_, table_size())) {
    if (well_formed(offset, size, table_offset_, table_size())) {
      const uint64_t rel = offset - table_offset_;
      std::lock_guard guard(lock_);
      const Entry& entry = entries_[rel / kEntrySize];
      const uint64_t dword = (rel % kEntrySize) / 4;
      value = entry_dword(entry, dword);
      if (size == 8) value |= uint64_t{entry_dword(entry, dword + 1)} << 32;
    }
  } else if (bar == pba_bar_ && overlaps(offset, size, pba_offset_, pba_size())) {
    if (well_formed(offset, size, pba_offset_, pba_size())) {
      const uint64_t rel = offset - pba_offset_;
      std::lock_guard guard(lock_);
      value = pba_qword(rel / 8) >> (8 * (rel % 8));  // a dword read of the upper half shifts by 32
    }
  } else {
    return false;
  }
  std::fill(data.begin(), data.end(), std::byte{0});
  std::memcpy(data.data(), &value, std::min(size, sizeof(value)));
  return true;
}

bool MsixCapability::bar_write(uint8_t bar, uint64_t offset, std::span<const std::byte> data) noexcept {
  const size_t size = data.size();
  if (bar == table_bar_ && overlaps(offset, size, table_offset_, table_size())) {
    if (!well_formed(offset, size, table_offset_, table_size())) return true;
    uint64_t value = 0;
    std::memcpy(&value, data.data(), size);
    const uint64_t rel = offset - table_offset_;
    std::lock_guard guard(lock_);
    Entry& entry = entries_[rel / kEntrySize];
    const uint64_t dword = (rel % kEntrySize) / 4;
    set_entry_dword(entry, dword, static_cast<uint32_t>(value));
    if (size == 8) set_entry_dword(entry, dword + 1, static_cast<uint32_t>(value >> 32));
    settle(entry);
    return true;
  }
  // 6.8.2.10: the PBA is read-only; writes are ignored.
  return bar == pba_bar_ && overlaps(offset, size, pba_offset_, pba_size());
}

bool MsixCapability::enabled() const noexcept {
  std::lock_guard guard(lock_);
  return enable_;
}

void MsixCapability::notify(uint16_t vector) noexcept {
  std::lock_guard guard(lock_);
  if (vector >= entries_.size()) return;
  Entry& entry = entries_[vector];
  if (deliverable(entry)) {
    entry.vector->trigger();
  } else {
    entry.pending = true;
  }
}

void MsixCapability::reset() noexcept {
  {
    std::lock_guard guard(lock_);
    for (Entry& entry : entries_) {
      entry.address_low = entry.address_high = entry.data = 0;
      entry.control = kEntryMasked;
      entry.pending = false;
      entry.routed.reset();  // the next unmask routes again
    }
    enable_ = false;
    function_mask_ = false;
  }
  const uint32_t header = config_.read_dword(cap_offset_);
  config_.set_dword(cap_offset_, header & ~(uint32_t{kControlEnable | kControlFunctionMask} << 16));
}

}  // namespace keel::devices
