// OBSOLETE (see acpi_power.h). The hardware-reduced ACPI power port: a
// hardware-reduced FADT would point SLEEP_CONTROL_REG, SLEEP_STATUS_REG and
// RESET_REG at this one 8-bit port.
// ACPI 6.x, "Sleep Control Register": bits 4:2 SLP_TYPx, bit 5 SLP_EN, bits
// 1:0 and 7:6 reserved. "Sleep Status Register": bit 7 WAK_STS. The DSDT's
// \_S5 package gives SLP_TYP 5 for soft-off.
#include "devices/legacy/acpi_power.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

namespace keel::devices {

namespace {

constexpr uint8_t kResetValue = 0x01;
constexpr uint8_t kS5SleepType = 5;

constexpr uint8_t kSleepEnable = 0x20;  // SLP_EN
constexpr uint8_t kSleepTypeShift = 2;  // SLP_TYPx, bits 4:2
constexpr uint8_t kSleepTypeMask = 0x07;

// Guest-triggerable: log only the first few.
std::atomic<unsigned> unsupported_sleep_logs{0};
constexpr unsigned kMaxUnsupportedSleepLogs = 4;

}  // namespace

// Sleep status: WAK_STS is never set (keel does not sleep and wake), and
// the other bits are reserved, so the port reads 0.
void AcpiPowerPort::read(uint64_t /*offset*/, std::span<std::byte> data) noexcept {
  std::fill(data.begin(), data.end(), std::byte{0});
}

void AcpiPowerPort::write(uint64_t offset, std::span<const std::byte> data) noexcept {
  if (offset != 0 || data.empty()) return;
  const uint8_t value = std::to_integer<uint8_t>(data[0]);
  // RESET_REG: the FADT's RESET_VALUE. It cannot be mistaken for a sleep
  // request: SLP_EN is clear in it.
  if (value == kResetValue) {
    vm_.request_stop(StopReason::guest_reset, 0);
    return;
  }
  // Anything without SLP_EN is a write to the sleep status register (Linux
  // clears WAK_STS by writing 0x80 before sleeping) or does nothing.
  if (!(value & kSleepEnable)) return;
  const unsigned sleep_type = (value >> kSleepTypeShift) & kSleepTypeMask;
  if (sleep_type == kS5SleepType) {
    vm_.request_stop(StopReason::guest_poweroff, 0);
    return;
  }
  // Only \_S5 is declared, so a guest asking for another state is confused.
  if (unsupported_sleep_logs.fetch_add(1, std::memory_order_relaxed) < kMaxUnsupportedSleepLogs) {
    spdlog::warn("acpi: ignoring request for unsupported sleep type {} (only S5 is declared)", sleep_type);
  }
}

}  // namespace keel::devices
