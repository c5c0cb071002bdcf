#include "devices/rtc/rtc_calendar.h"

#include <gtest/gtest.h>

#include "devices/rtc/rtc_guest_time.h"

namespace keel::devices::rtc {
namespace {

constexpr RegisterFormat kBcd24{false, true};
constexpr RegisterFormat kBin24{true, true};
constexpr RegisterFormat kBcd12{false, false};

TEST(RtcCalendar, DaysFromCivilKnownDates) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11'017);
  EXPECT_EQ(days_from_civil(2023, 11, 14), 19'675);
  EXPECT_EQ(days_from_civil(0, 1, 1), -719'528);
}

TEST(RtcCalendar, CivilRoundTripOverManyYears) {
  // Every day from 1600 to 2500 maps back to itself, with consecutive dates.
  int64_t previous = days_from_civil(1599, 12, 31);
  for (int64_t days = days_from_civil(1600, 1, 1); days <= days_from_civil(2500, 12, 31); ++days) {
    const CivilDate d = civil_from_days(days);
    ASSERT_EQ(days_from_civil(d.year, d.month, d.day), days);
    ASSERT_EQ(days, previous + 1);
    previous = days;
  }
}

TEST(RtcCalendar, LeapYears) {
  EXPECT_EQ(civil_from_days(days_from_civil(2024, 2, 28) + 1).day, 29);
  EXPECT_EQ(civil_from_days(days_from_civil(2023, 2, 28) + 1).month, 3);
  EXPECT_EQ(civil_from_days(days_from_civil(2100, 2, 28) + 1).month, 3);  // not a leap year
  EXPECT_EQ(civil_from_days(days_from_civil(2000, 2, 28) + 1).day, 29);   // 400-year rule
}

TEST(RtcCalendar, DayOfWeekSundayIsOne) {
  EXPECT_EQ(day_of_week(0), 5);                              // 1970-01-01, Thursday
  EXPECT_EQ(day_of_week(days_from_civil(2023, 11, 12)), 1);  // Sunday
  EXPECT_EQ(day_of_week(days_from_civil(2031, 3, 1)), 7);    // Saturday
  EXPECT_EQ(day_of_week(-4), 1);                             // 1969-12-28, Sunday
}

TEST(RtcCalendar, FieldEncoding) {
  EXPECT_EQ(encode_field(59, kBcd24), 0x59);
  EXPECT_EQ(encode_field(59, kBin24), 59);
  EXPECT_EQ(decode_field(0x59, kBcd24), 59);
  EXPECT_EQ(decode_field(0xff, kBcd24), 165);  // invalid BCD still decodes to a number
  EXPECT_EQ(encode_hour(0, kBcd12), 0x12);     // 12 AM
  EXPECT_EQ(encode_hour(12, kBcd12), 0x92);    // 12 PM
  EXPECT_EQ(encode_hour(23, kBcd12), 0x91);
  EXPECT_EQ(decode_hour(0x12, kBcd12), 0);
  EXPECT_EQ(decode_hour(0x92, kBcd12), 12);
  EXPECT_EQ(decode_hour(0x91, kBcd12), 23);
}

TEST(RtcCalendar, RegistersRoundTrip) {
  for (RegisterFormat f : {kBcd24, kBin24, kBcd12, RegisterFormat{true, false}}) {
    for (int64_t s = 1'700'000'000; s < 1'700'000'000 + 3 * 86'400; s += 3'599) {
      EXPECT_EQ(seconds_from_registers(registers_from_seconds(s, f), f), s);
    }
  }
}

TEST(RtcCalendar, OutOfRangeFieldsNormaliseLikeTimegm) {
  TimeRegisters regs{0, 0, 0, 1, 0x01, 0x13, 0x23, 0x20};  // month 13 of 2023
  EXPECT_EQ(seconds_from_registers(regs, kBcd24), days_from_civil(2024, 1, 1) * 86'400);
  regs.month = 0x03;
  regs.day_of_month = 0x00;  // day 0 of March: last day of February
  EXPECT_EQ(seconds_from_registers(regs, kBcd24), days_from_civil(2023, 2, 28) * 86'400);
  regs.month = 0x00;  // month 0: December of the previous year
  regs.day_of_month = 0x01;
  EXPECT_EQ(seconds_from_registers(regs, kBcd24), days_from_civil(2022, 12, 1) * 86'400);
}

TEST(RtcGuestTime, TickMathRoundsSoTimersNeverFireEarly) {
  for (int64_t tick = -70'000; tick < 70'000; tick += 7) {
    const GuestTime t = time_of_tick(tick);
    ASSERT_GE(t.nanos, 0);
    ASSERT_LT(t.nanos, kNanosPerSecond);
    ASSERT_EQ(divider_ticks(t), tick);
    ASSERT_EQ(divider_ticks(t - GuestTime{0, 1}), tick - 1);
  }
}

TEST(RtcGuestTime, Arithmetic) {
  const GuestTime a{5, 900'000'000};
  const GuestTime b{1, 200'000'000};
  EXPECT_EQ(a + b, (GuestTime{7, 100'000'000}));
  EXPECT_EQ(b - a, (GuestTime{-5, 300'000'000}));
  EXPECT_EQ(nanos_between(b, a), 4'700'000'000);
  EXPECT_EQ(GuestTime::from_nanos(-1), (GuestTime{-1, 999'999'999}));
}

}  // namespace
}  // namespace keel::devices::rtc
