#include "devices/rtc/rtc_calendar.h"

namespace keel::devices::rtc {
namespace {

constexpr int64_t kSecondsPerDay = 86'400;
constexpr int64_t kDaysPer400Years = 146'097;
// 1970-01-01 counted from 0000-03-01, the epoch of the era arithmetic (a year
// that starts in March puts the leap day last).
constexpr int64_t kUnixEpochFromMarch0000 = 719'468;

}  // namespace

int64_t days_from_civil(int64_t year, int month, int day) noexcept {
  const int64_t y = month <= 2 ? year - 1 : year;
  const int64_t era = floor_div(y, 400);
  const int64_t year_of_era = y - era * 400;                            // [0, 399]
  const int64_t month_from_march = month > 2 ? month - 3 : month + 9;   // [0, 11]
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;  // [0, 365]
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * kDaysPer400Years + day_of_era - kUnixEpochFromMarch0000;
}

CivilDate civil_from_days(int64_t days) noexcept {
  const int64_t z = days + kUnixEpochFromMarch0000;
  const int64_t era = floor_div(z, kDaysPer400Years);
  const int64_t day_of_era = z - era * kDaysPer400Years;  // [0, 146096]
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;  // [0, 399]
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_from_march = (5 * day_of_year + 2) / 153;  // [0, 11]
  const int day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  const int month = static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  return CivilDate{year, month, day};
}

int day_of_week(int64_t days) noexcept {
  // 1970-01-01 was a Thursday: 5 when Sunday is 1.
  return static_cast<int>(floor_mod(days + 4, 7)) + 1;
}

uint8_t encode_field(int64_t value, RegisterFormat format) noexcept {
  if (format.binary) return static_cast<uint8_t>(value);
  const auto two_digits = static_cast<uint8_t>(floor_mod(value, 100));
  return static_cast<uint8_t>(((two_digits / 10) << 4) | (two_digits % 10));
}

int decode_field(uint8_t byte, RegisterFormat format) noexcept {
  if (format.binary) return byte;
  return (byte >> 4) * 10 + (byte & 0x0f);
}

uint8_t encode_hour(int hour24, RegisterFormat format) noexcept {
  if (format.hour24) return encode_field(hour24, format);
  // 12-hour clock: 00:xx is 12 AM, 12:xx is 12 PM; bit 7 marks PM.
  const int hour12 = hour24 % 12 == 0 ? 12 : hour24 % 12;
  const uint8_t pm = hour24 >= 12 ? 0x80 : 0x00;
  return static_cast<uint8_t>(encode_field(hour12, format) | pm);
}

int decode_hour(uint8_t byte, RegisterFormat format) noexcept {
  const int hour = decode_field(static_cast<uint8_t>(byte & 0x7f), format);
  if (format.hour24) return hour;
  return hour % 12 + ((byte & 0x80) != 0 ? 12 : 0);
}

TimeOfDayBytes time_of_day_bytes(int64_t seconds, RegisterFormat format) noexcept {
  const int64_t second_of_day = floor_mod(seconds, kSecondsPerDay);
  return TimeOfDayBytes{
      encode_field(second_of_day % 60, format),
      encode_field(second_of_day / 60 % 60, format),
      encode_hour(static_cast<int>(second_of_day / 3600), format),
  };
}

TimeRegisters registers_from_seconds(int64_t seconds, RegisterFormat format) noexcept {
  const int64_t days = floor_div(seconds, kSecondsPerDay);
  const CivilDate date = civil_from_days(days);
  const TimeOfDayBytes tod = time_of_day_bytes(seconds, format);
  TimeRegisters regs;
  regs.seconds = tod.seconds;
  regs.minutes = tod.minutes;
  regs.hours = tod.hours;
  regs.day_of_week = encode_field(day_of_week(days), format);
  regs.day_of_month = encode_field(date.day, format);
  regs.month = encode_field(date.month, format);
  regs.year = encode_field(floor_mod(date.year, 100), format);
  regs.century = encode_field(floor_div(date.year, 100), format);
  return regs;
}

int64_t seconds_from_registers(const TimeRegisters& regs, RegisterFormat format) noexcept {
  // Every decoded field is in [0, 255], so none of this can overflow.
  const int64_t month_index = decode_field(regs.month, format) - 1;  // 0-based, may be out of range
  const int64_t year = int64_t{decode_field(regs.century, format)} * 100 + decode_field(regs.year, format) +
                       floor_div(month_index, 12);
  const int month = static_cast<int>(floor_mod(month_index, 12)) + 1;
  const int64_t days = days_from_civil(year, month, 1) + decode_field(regs.day_of_month, format) - 1;
  return days * kSecondsPerDay + int64_t{decode_hour(regs.hours, format)} * 3600 +
         int64_t{decode_field(regs.minutes, format)} * 60 + decode_field(regs.seconds, format);
}

}  // namespace keel::devices::rtc
