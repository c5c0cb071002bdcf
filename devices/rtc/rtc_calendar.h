// Calendar arithmetic and MC146818 time-register encoding, as pure functions
// so the device model stays small and the arithmetic is testable on its own.
// Time is "seconds since 1970-01-01 00:00:00" on the proleptic Gregorian
// calendar without leap seconds, the same scale as Unix time in UTC; nothing
// here looks at the host's time zone.
#pragma once

#include <cstdint>

namespace keel::devices::rtc {

// Floor division and modulo (the result of floor_mod has the sign of b), so
// dates before 1970 and before year 0 come out right.
[[nodiscard]] constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
[[nodiscard]] constexpr int64_t floor_mod(int64_t a, int64_t b) noexcept { return a - floor_div(a, b) * b; }

struct CivilDate {
  int64_t year;
  int month;  // 1-12
  int day;    // 1-31
};

// Days since 1970-01-01 of a valid civil date, and back (the "days from
// civil" algorithm over 400-year eras).
[[nodiscard]] int64_t days_from_civil(int64_t year, int month, int day) noexcept;
[[nodiscard]] CivilDate civil_from_days(int64_t days) noexcept;
// 1 = Sunday ... 7 = Saturday, as the RTC's day-of-week register counts.
[[nodiscard]] int day_of_week(int64_t days) noexcept;

// The data format register B selects.
struct RegisterFormat {
  bool binary = false;  // DM = 1: binary, else BCD
  bool hour24 = true;   // 24/12 = 1: 24-hour, else 12-hour with bit 7 = PM
};

// The clock bytes as the guest sees them: 0x00, 0x02, 0x04, 0x06-0x09, 0x32.
struct TimeRegisters {
  uint8_t seconds = 0;
  uint8_t minutes = 0;
  uint8_t hours = 0;
  uint8_t day_of_week = 0;
  uint8_t day_of_month = 0;
  uint8_t month = 0;
  uint8_t year = 0;     // two digits
  uint8_t century = 0;  // 0x32, as IBM PCs and QEMU keep it
};

// One field (0-99 in BCD; values outside wrap modulo 100, as two BCD digits
// can't hold them).
[[nodiscard]] uint8_t encode_field(int64_t value, RegisterFormat format) noexcept;
// Any byte decodes to a number; invalid BCD digits (0xA-0xF) just give a
// large value, which the normalisation in seconds_from_registers absorbs.
[[nodiscard]] int decode_field(uint8_t byte, RegisterFormat format) noexcept;
[[nodiscard]] uint8_t encode_hour(int hour24, RegisterFormat format) noexcept;
[[nodiscard]] int decode_hour(uint8_t byte, RegisterFormat format) noexcept;

[[nodiscard]] TimeRegisters registers_from_seconds(int64_t seconds, RegisterFormat format) noexcept;
// Out-of-range fields roll over the way timegm() normalises them (month 13 is
// January of the next year, day 0 the last day of the previous month), so a
// guest's garbage yields some definite time instead of an error. The day of
// week is ignored: it is derived from the date, as in QEMU.
[[nodiscard]] int64_t seconds_from_registers(const TimeRegisters& regs, RegisterFormat format) noexcept;

// The clock bytes that the alarm compares against, for the second `seconds`.
struct TimeOfDayBytes {
  uint8_t seconds;
  uint8_t minutes;
  uint8_t hours;
};
[[nodiscard]] TimeOfDayBytes time_of_day_bytes(int64_t seconds, RegisterFormat format) noexcept;

}  // namespace keel::devices::rtc
