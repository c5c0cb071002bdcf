// The PM timer register, TMR_STS and the timer SCI.
#include <gtest/gtest.h>

#include "tests/unit/devices/acpi/acpi_pm_fixture.h"

namespace keel::devices::acpi_pm_test {
namespace {

constexpr uint64_t kHalfPeriod = uint64_t{1} << 23;  // ticks between TMR_STS events
constexpr uint64_t kWrap = uint64_t{1} << 24;

TEST_F(AcpiPmTest, TimerStartsAtZeroAndCountsAt3579545Hz) {
  EXPECT_EQ(timer(), 0u);
  clock_.advance(1s);
  EXPECT_EQ(timer(), 3'579'545u);
  clock_.advance(1ms);
  EXPECT_EQ(timer(), 3'579'545u + 3'579u);  // 3.579545 ticks per us: 3583124.545 rounded down
}

TEST_F(AcpiPmTest, TimerCountsFromConstructionNotFromClockZero) {
  clock_.advance(100s);
  AcpiPm later(sci_, vm_, clock_, clock_);
  EXPECT_EQ(read_value(later, kPmTimerOffset, 4), 0u);
  clock_.advance(1s);
  EXPECT_EQ(read_value(later, kPmTimerOffset, 4), 3'579'545u);
}

TEST_F(AcpiPmTest, TimerWrapsAt24Bits) {
  advance_to_tick(kWrap, -1ns);
  EXPECT_EQ(timer(), 0xFF'FFFFu);
  advance_to_tick(kWrap);
  EXPECT_EQ(timer(), 0u);
  clock_.advance(5s);  // 5 s = 17897725 ticks: one more wrap
  EXPECT_EQ(timer(), static_cast<uint32_t>((kWrap + 17'897'725u) % kWrap));
  // Bits 31:24 are always 0 with TMR_VAL_EXT = 0.
  for (int i = 0; i < 50; ++i) {
    clock_.advance(std::chrono::milliseconds(137 + i));
    EXPECT_EQ(timer() >> 24, 0u);
  }
}

TEST_F(AcpiPmTest, TimerDoesNotDriftOverManySmallSteps) {
  // 100000 steps of 333 ns: summing rounded per-step increments would lose
  // about a sixth of a tick per step.
  for (int i = 0; i < 100'000; ++i) {
    clock_.advance(333ns);
    (void)timer();
  }
  EXPECT_EQ(timer(), ticks_in(33'300'000ns) % kWrap);
  clock_.advance(10h);
  EXPECT_EQ(timer(), ticks_in(10h + 33'300'000ns) % kWrap);
}

TEST_F(AcpiPmTest, ReadsAreMonotonicBetweenWraps) {
  // What Linux's acpi_pm clocksource checks before trusting the timer.
  uint32_t previous = timer();
  for (int i = 0; i < 1000; ++i) {
    clock_.advance(std::chrono::nanoseconds(9'000 + 7 * i));
    const uint32_t now = timer();
    EXPECT_GT(now, previous);
    previous = now;
  }
}

TEST_F(AcpiPmTest, TmrStsSetsWhenBit23Changes) {
  advance_to_tick(kHalfPeriod, -1ns);
  EXPECT_EQ(status() & kTmrSts, 0);
  advance_to_tick(kHalfPeriod);
  EXPECT_EQ(status() & kTmrSts, kTmrSts);
  write_status(kTmrSts);
  EXPECT_EQ(status() & kTmrSts, 0);
  // Not again until bit 23 changes back at the wrap.
  advance_to_tick(kWrap, -1ns);
  EXPECT_EQ(status() & kTmrSts, 0);
  advance_to_tick(kWrap);
  EXPECT_EQ(status() & kTmrSts, kTmrSts);
}

TEST_F(AcpiPmTest, TmrStsIsSetEvenIfNobodyLookedAtTheMoment) {
  clock_.advance(1h);  // many toggles, no accesses
  EXPECT_EQ(status() & kTmrSts, kTmrSts);
  EXPECT_FALSE(sci_->level()) << "TMR_EN is clear";
}

TEST_F(AcpiPmTest, NoHostTimerWhileTmrEnIsClear) {
  EXPECT_EQ(clock_.armed_timers(), 0);
  (void)timer();
  (void)status();
  EXPECT_EQ(clock_.armed_timers(), 0);
}

TEST_F(AcpiPmTest, TmrEnRaisesTheSciOnTimeWithoutAnyAccess) {
  write_enable(kTmrEn);
  EXPECT_EQ(clock_.armed_timers(), 1);
  advance_to_tick(kHalfPeriod, -1ns);
  EXPECT_FALSE(sci_->level());
  clock_.advance(1ns);  // the timer fires at the first nanosecond of the toggle
  EXPECT_TRUE(sci_->level());
  EXPECT_EQ(sci_->rising_edges(), 1);
  // The line stays up (one edge) until the guest clears TMR_STS, and no
  // timer runs meanwhile.
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(10s);
  EXPECT_TRUE(sci_->level());
  EXPECT_EQ(sci_->rising_edges(), 1);
}

TEST_F(AcpiPmTest, ClearingTmrStsLowersTheSciAndArmsForTheNextToggle) {
  write_enable(kTmrEn);
  advance_to_tick(kHalfPeriod);
  ASSERT_TRUE(sci_->level());
  write_status(kTmrSts);
  EXPECT_FALSE(sci_->level());
  EXPECT_EQ(clock_.armed_timers(), 1);
  advance_to_tick(kWrap, -1ns);
  EXPECT_FALSE(sci_->level());
  advance_to_tick(kWrap);
  EXPECT_TRUE(sci_->level());
  EXPECT_EQ(sci_->rising_edges(), 2);
}

TEST_F(AcpiPmTest, HandlerLoopSeesOneSciPerToggle) {
  // An OS handler: on each SCI, read PM1_STS and clear what it found.
  write_enable(kTmrEn);
  for (int toggle = 1; toggle <= 6; ++toggle) {
    clock_.advance(time_of_tick(kHalfPeriod * toggle) - clock_.monotonic());
    ASSERT_TRUE(sci_->level()) << toggle;
    const uint16_t found = status();
    EXPECT_EQ(found & kTmrSts, kTmrSts);
    write_status(found);
    EXPECT_FALSE(sci_->level());
  }
  EXPECT_EQ(sci_->rising_edges(), 6);
}

TEST_F(AcpiPmTest, EnablingWithTmrStsAlreadySetRaisesTheSciAtOnce) {
  advance_to_tick(kHalfPeriod + 10);
  write_enable(kTmrEn);
  EXPECT_TRUE(sci_->level());
  EXPECT_EQ(clock_.armed_timers(), 0);
}

TEST_F(AcpiPmTest, DisablingTmrEnLowersTheSciAndStopsTheTimer) {
  write_enable(kTmrEn);
  advance_to_tick(kHalfPeriod);
  ASSERT_TRUE(sci_->level());
  write_enable(0);
  EXPECT_FALSE(sci_->level());
  EXPECT_EQ(status() & kTmrSts, kTmrSts) << "status stays set";
  write_status(kTmrSts);
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(1h);
  EXPECT_FALSE(sci_->level());
}

TEST_F(AcpiPmTest, TimerReadsDoNotDisturbTheArmedDeadline) {
  write_enable(kTmrEn);
  for (int i = 0; i < 100; ++i) {
    clock_.advance(10ms);
    (void)timer();
    EXPECT_EQ(clock_.armed_timers(), 1);
  }
  advance_to_tick(kHalfPeriod);
  EXPECT_TRUE(sci_->level());
}

TEST_F(AcpiPmTest, DestroyedWithATimerArmed) {
  auto local = std::make_unique<AcpiPm>(sci_, vm_, clock_, clock_);
  write_value(*local, kPm1EnableOffset, 2, kTmrEn);
  EXPECT_EQ(clock_.armed_timers(), 1);
  local.reset();
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(10s);  // nothing left to fire into freed memory
}

}  // namespace
}  // namespace keel::devices::acpi_pm_test
