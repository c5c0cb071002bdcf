#include "devices/pci/msi_capability.h"

#include <array>

namespace keel::devices {

namespace {

bool overlaps(uint64_t offset, size_t size, uint64_t start, uint64_t length) noexcept {
  if (size == 0 || length == 0) return false;
  return offset < start + length && (offset >= start || start - offset < size);
}

}  // namespace

MsiCapability::MsiCapability(PciConfigSpace& config, InterruptController& interrupts) : config_(config) {
  // Body = the capability from offset 2 on. Message Control: 64-bit and
  // per-vector masking capable, Multiple Message Capable 0 (one vector);
  // only MSI Enable is writable (Multiple Message Enable stays 0, the only
  // legal value for one vector).
  constexpr uint16_t kControlValue = kControl64Bit | kControlPerVectorMasking;
  std::array<uint8_t, kSize - 2> body{};
  std::array<uint8_t, kSize - 2> mask{};
  body[kControl - 2] = static_cast<uint8_t>(kControlValue);
  body[kControl - 2 + 1] = static_cast<uint8_t>(kControlValue >> 8);
  mask[kControl - 2] = kControlEnable;
  // Message Address: DWORD aligned, bits 1:0 read 0 (6.8.1.4).
  mask[kAddressLow - 2] = 0xFC;
  for (int i = 1; i < 4; ++i) mask[kAddressLow - 2 + i] = 0xFF;
  for (int i = 0; i < 4; ++i) mask[kAddressHigh - 2 + i] = 0xFF;
  // Message Data: 16 bits; the upper word is reserved (reads 0).
  mask[kData - 2] = 0xFF;
  mask[kData - 2 + 1] = 0xFF;
  // Mask Bits: one per implemented vector; Pending Bits read-only (and
  // supplied by overlay_read()).
  mask[kMaskBits - 2] = 0x01;
  vector_ = interrupts.create_msi_vector();
  cap_offset_ = config.add_capability(kCapabilityId, body, mask);
}

void MsiCapability::settle() noexcept {
  if (!masked_ && routed_ != message_) {
    vector_->set_message(message_);
    routed_ = message_;
  }
  if (pending_ && enable_ && !masked_) {
    pending_ = false;
    vector_->trigger();
  }
}

void MsiCapability::config_written(uint16_t offset, size_t length) noexcept {
  if (!overlaps(offset, length, cap_offset_, kSize)) return;
  const uint16_t control = static_cast<uint16_t>(config_.read_dword(cap_offset_) >> 16);
  const uint64_t address = config_.read_dword(cap_offset_ + kAddressLow) |
                           (uint64_t{config_.read_dword(cap_offset_ + kAddressHigh)} << 32);
  const uint32_t data = config_.read_dword(cap_offset_ + kData) & 0xFFFF;
  const bool masked = (config_.read_dword(cap_offset_ + kMaskBits) & 1) != 0;
  std::lock_guard guard(lock_);
  enable_ = (control & kControlEnable) != 0;
  masked_ = masked;
  message_ = MsiMessage{address, data};
  settle();
}

void MsiCapability::overlay_read(uint16_t offset, std::span<std::byte> data) const noexcept {
  const uint32_t at = uint32_t{cap_offset_} + kPendingBits;  // bit 0 lives in the register's first byte
  if (offset > at || uint32_t{offset} + data.size() <= at) return;
  std::lock_guard guard(lock_);
  if (pending_) data[at - offset] |= std::byte{1};
}

bool MsiCapability::enabled() const noexcept {
  std::lock_guard guard(lock_);
  return enable_;
}

bool MsiCapability::pending() const noexcept {
  std::lock_guard guard(lock_);
  return pending_;
}

void MsiCapability::notify(uint16_t vector) noexcept {
  if (vector != 0) return;
  std::lock_guard guard(lock_);
  if (enable_ && !masked_) {
    vector_->trigger();
  } else {
    pending_ = true;
  }
}

void MsiCapability::reset() noexcept {
  {
    std::lock_guard guard(lock_);
    enable_ = masked_ = pending_ = false;
    message_ = MsiMessage{};
    routed_.reset();
  }
  const uint32_t header = config_.read_dword(cap_offset_);
  config_.set_dword(cap_offset_, header & ~(uint32_t{kControlEnable} << 16));
  for (uint16_t reg : {kAddressLow, kAddressHigh, kData, kMaskBits}) {
    config_.set_dword(static_cast<uint16_t>(cap_offset_ + reg), 0);
  }
}

}  // namespace keel::devices
