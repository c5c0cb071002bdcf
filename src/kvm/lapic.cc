#include "src/kvm/lapic.h"

#include <cstring>

namespace keel::kvm {

uint32_t lapic_register(std::span<const std::byte, kLapicRegisterPageSize> page, size_t offset) noexcept {
  uint32_t value = 0;
  if (offset + sizeof value <= page.size()) std::memcpy(&value, page.data() + offset, sizeof value);
  return value;
}

void set_lapic_register(std::span<std::byte, kLapicRegisterPageSize> page, size_t offset, uint32_t value) noexcept {
  if (offset + sizeof value <= page.size()) std::memcpy(page.data() + offset, &value, sizeof value);
}

uint32_t with_delivery_mode(uint32_t lvt, LapicDeliveryMode mode) noexcept {
  return (lvt & ~0x700u) | (static_cast<uint32_t>(mode) << 8);
}

void configure_bsp_lint(std::span<std::byte, kLapicRegisterPageSize> page) noexcept {
  set_lapic_register(page, kLapicLvtLint0,
                     with_delivery_mode(lapic_register(page, kLapicLvtLint0), LapicDeliveryMode::ext_int));
  set_lapic_register(page, kLapicLvtLint1,
                     with_delivery_mode(lapic_register(page, kLapicLvtLint1), LapicDeliveryMode::nmi));
}

}  // namespace keel::kvm
