#include "devices/acpi/pm_timer.h"

#include <gtest/gtest.h>

#include <chrono>

namespace keel::devices::acpi_pm {
namespace {

using namespace std::chrono_literals;

TEST(PmTimerMath, TicksAtKnownTimes) {
  EXPECT_EQ(ticks_in(0ns), 0u);
  EXPECT_EQ(ticks_in(-5s), 0u);
  EXPECT_EQ(ticks_in(279ns), 0u);  // one tick is 279.365 ns
  EXPECT_EQ(ticks_in(280ns), 1u);
  EXPECT_EQ(ticks_in(1s), 3'579'545u);
  EXPECT_EQ(ticks_in(1s - 1ns), 3'579'544u);
  EXPECT_EQ(ticks_in(1ms), 3'579u);  // 3579.545, rounded down
}

TEST(PmTimerMath, LongRunsNeedNoOverflowingProduct) {
  // 10 hours: elapsed * 3579545 is about 1.3e20, beyond 64 bits.
  EXPECT_EQ(ticks_in(10h), 36'000ull * 3'579'545ull);
  // A year of uptime, exactly.
  EXPECT_EQ(ticks_in(std::chrono::hours(24 * 365)), 86'400ull * 365 * 3'579'545ull);
  // The largest time there is: no wrap, no UB.
  EXPECT_EQ(ticks_in(std::chrono::nanoseconds::max()),
            static_cast<uint64_t>(static_cast<unsigned __int128>(INT64_MAX) * 3'579'545u / 1'000'000'000u));
}

TEST(PmTimerMath, TimeOfTickIsTheFirstNanosecondOfThatTick) {
  EXPECT_EQ(time_of_tick(0), 0ns);
  EXPECT_EQ(time_of_tick(1), 280ns);
  EXPECT_EQ(time_of_tick(3'579'545), 1s);
  for (uint64_t tick : {uint64_t{1}, uint64_t{2}, uint64_t{7}, uint64_t{1} << 23, uint64_t{1} << 24, uint64_t{12'345'678},
                        uint64_t{1} << 40, uint64_t{3'579'545} * 86'400 * 365}) {
    EXPECT_EQ(ticks_in(time_of_tick(tick)), tick) << tick;
    EXPECT_EQ(ticks_in(time_of_tick(tick) - 1ns), tick - 1) << tick;
  }
}

TEST(PmTimerMath, TimeOfTickSaturates) {
  EXPECT_EQ(time_of_tick(UINT64_MAX), std::chrono::nanoseconds::max());
}

TEST(PmTimerMath, ValueIs24BitsAndMsbToggles) {
  EXPECT_EQ(timer_value(0xFF'FFFF), 0xFF'FFFFu);
  EXPECT_EQ(timer_value(0x100'0000), 0u);
  EXPECT_EQ(timer_value(0x1234'5678'9ABC), 0x78'9ABCu);
  EXPECT_FALSE(msb_toggled(0, 0x7F'FFFF));
  EXPECT_TRUE(msb_toggled(0x7F'FFFF, 0x80'0000));   // bit 23 0 -> 1
  EXPECT_FALSE(msb_toggled(0x80'0000, 0xFF'FFFF));
  EXPECT_TRUE(msb_toggled(0xFF'FFFF, 0x100'0000));  // bit 23 1 -> 0 at the wrap
  EXPECT_TRUE(msb_toggled(5, 5 + (uint64_t{1} << 30)));  // many toggles: still just "set"
  EXPECT_EQ(next_msb_toggle(0), 0x80'0000u);
  EXPECT_EQ(next_msb_toggle(0x7F'FFFF), 0x80'0000u);
  EXPECT_EQ(next_msb_toggle(0x80'0000), 0x100'0000u);
}

}  // namespace
}  // namespace keel::devices::acpi_pm
