// The RTC's notion of time: seconds since the Unix epoch plus nanoseconds,
// kept as a pair so that any date a guest can write (years 0-25855) fits
// without overflowing a 64-bit nanosecond count. Also the mapping between
// time and ticks of the 32.768 kHz divider chain that paces the periodic
// interrupt.
#pragma once

#include <compare>
#include <cstdint>

#include "devices/rtc/rtc_calendar.h"

namespace keel::devices::rtc {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;
inline constexpr int64_t kDividerHz = 32'768;

struct GuestTime {
  int64_t seconds = 0;
  int64_t nanos = 0;  // always in [0, kNanosPerSecond)

  [[nodiscard]] static constexpr GuestTime from_nanos(int64_t ns) noexcept {
    return GuestTime{floor_div(ns, kNanosPerSecond), floor_mod(ns, kNanosPerSecond)};
  }
  friend constexpr auto operator<=>(const GuestTime&, const GuestTime&) = default;
};

[[nodiscard]] constexpr GuestTime operator+(GuestTime a, GuestTime b) noexcept {
  const int64_t nanos = a.nanos + b.nanos;
  return GuestTime{a.seconds + b.seconds + nanos / kNanosPerSecond, nanos % kNanosPerSecond};
}

[[nodiscard]] constexpr GuestTime operator-(GuestTime a, GuestTime b) noexcept {
  const int64_t nanos = a.nanos - b.nanos;
  return nanos < 0 ? GuestTime{a.seconds - b.seconds - 1, nanos + kNanosPerSecond}
                   : GuestTime{a.seconds - b.seconds, nanos};
}

// b - a in nanoseconds, for spans short enough to be timer delays; longer
// spans (a host clock that jumped decades) saturate instead of overflowing.
[[nodiscard]] constexpr int64_t nanos_between(GuestTime a, GuestTime b) noexcept {
  constexpr int64_t kMaxSeconds = 1'000'000'000;  // ~31 years
  const GuestTime d = b - a;
  if (d.seconds >= kMaxSeconds) return kMaxSeconds * kNanosPerSecond;
  if (d.seconds <= -kMaxSeconds) return -kMaxSeconds * kNanosPerSecond;
  return d.seconds * kNanosPerSecond + d.nanos;
}

// Divider ticks completed at time t (floor).
[[nodiscard]] constexpr int64_t divider_ticks(GuestTime t) noexcept {
  return t.seconds * kDividerHz + t.nanos * kDividerHz / kNanosPerSecond;
}

// The first nanosecond at which divider_ticks() reaches `tick` (rounding up,
// so that a timer armed for it never fires before the tick has happened).
[[nodiscard]] constexpr GuestTime time_of_tick(int64_t tick) noexcept {
  const int64_t seconds = floor_div(tick, kDividerHz);
  const int64_t ticks_into_second = tick - seconds * kDividerHz;
  const int64_t nanos = (ticks_into_second * kNanosPerSecond + kDividerHz - 1) / kDividerHz;
  return GuestTime{seconds, nanos};
}

}  // namespace keel::devices::rtc
