// Exact conversion between elapsed host time and ACPI PM timer ticks
// (3.579545 MHz). Both directions are computed from the elapsed time since
// the timer started, never by adding up rounded steps, so the counter does
// not drift from the host clock however long the guest runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

#include "devices/acpi/pm_registers.h"

namespace keel::devices::acpi_pm {

inline constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// Whole ticks in `elapsed` (rounded down); 0 for a negative span. The
// product is formed in 128 bits: elapsed * 3579545 would overflow 64 bits
// once the guest has run for about 86 minutes.
constexpr uint64_t ticks_in(std::chrono::nanoseconds elapsed) noexcept {
  if (elapsed.count() <= 0) return 0;
  const unsigned __int128 product = static_cast<unsigned __int128>(elapsed.count()) * kTimerHz;
  return static_cast<uint64_t>(product / kNanosPerSecond);
}

// The shortest elapsed time at which ticks_in() reaches `tick` (rounded
// up, so a timer armed for it never fires a nanosecond too early).
// Saturates at the largest representable time.
constexpr std::chrono::nanoseconds time_of_tick(uint64_t tick) noexcept {
  const unsigned __int128 nanos = (static_cast<unsigned __int128>(tick) * kNanosPerSecond + kTimerHz - 1) / kTimerHz;
  constexpr auto kMax = static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max());
  return std::chrono::nanoseconds(static_cast<int64_t>(nanos > kMax ? kMax : nanos));
}

// The value PM_TMR shows after `ticks` ticks: the low 24 bits.
constexpr uint32_t timer_value(uint64_t ticks) noexcept { return static_cast<uint32_t>(ticks & kTimerMask); }

// Whether bit 23 of the counter changed between two tick counts
// (earlier <= later): TMR_STS is set at each such change.
constexpr bool msb_toggled(uint64_t earlier, uint64_t later) noexcept {
  return later / kTicksPerTmrSts != earlier / kTicksPerTmrSts;
}

// The first tick after `ticks` at which bit 23 changes.
constexpr uint64_t next_msb_toggle(uint64_t ticks) noexcept { return (ticks / kTicksPerTmrSts + 1) * kTicksPerTmrSts; }

}  // namespace keel::devices::acpi_pm
