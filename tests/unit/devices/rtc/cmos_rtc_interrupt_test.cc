// Periodic, alarm and update-ended interrupts, register C, and when the
// timer is armed.
#include "tests/unit/devices/rtc/rtc_test_fixture.h"

namespace keel::devices::rtc_test {
namespace {

class RtcInterruptTest : public RtcTest {
 protected:
  // Advance `total` in `step`s, reading register C after each step like an
  // interrupt handler would; returns how many reads saw `flag`.
  int count_flag_over(std::chrono::nanoseconds total, std::chrono::nanoseconds step, uint8_t flag) {
    int seen = 0;
    for (std::chrono::nanoseconds t{0}; t < total; t += step) {
      clock_.advance(step);
      if ((reg(kRegC) & flag) != 0) ++seen;
    }
    return seen;
  }
  void clear_flags() {
    (void)reg(kRegC);
    irq_->reset_count();
  }
};

TEST_F(RtcInterruptTest, NoTimerArmedWhenNoInterruptIsEnabled) {
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(5s);
  (void)reg(kRegC);
  set_reg(kSecondsAlarm, 0xc0);
  EXPECT_EQ(clock_.armed_timers(), 0);
  set_reg(kRegB, kRegB24Hour | kRegBPie);
  EXPECT_EQ(clock_.armed_timers(), 1);
  set_reg(kRegB, kRegB24Hour);
  EXPECT_EQ(clock_.armed_timers(), 0);
  set_reg(kRegB, kRegB24Hour | kRegBUie);
  EXPECT_EQ(clock_.armed_timers(), 1);
  set_reg(kRegB, kRegB24Hour);
  EXPECT_EQ(clock_.armed_timers(), 0);
  EXPECT_EQ(irq_->rising_edges(), 0);
}

TEST_F(RtcInterruptTest, Periodic1024HzGivesExactly1024InterruptsPerSecond) {
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBPie);
  EXPECT_EQ(count_flag_over(1s, 250us, kRegCPf), 1024);
  EXPECT_EQ(irq_->rising_edges(), 1024);
  // No drift over a longer run: still phase-locked to whole seconds.
  irq_->reset_count();
  EXPECT_EQ(count_flag_over(10s, 400us, kRegCPf), 10 * 1024);
  EXPECT_EQ(irq_->rising_edges(), 10 * 1024);
}

TEST_F(RtcInterruptTest, PeriodicRatesFromTheDatasheetTable) {
  struct Case {
    uint8_t rs;
    int per_second;
  };
  for (Case c : {Case{0x1, 256}, Case{0x2, 128}, Case{0x3, 8192}, Case{0x6, 1024}, Case{0xf, 2}}) {
    set_reg(kRegA, static_cast<uint8_t>(0x20 | c.rs));
    set_reg(kRegB, kRegB24Hour | kRegBPie);
    clear_flags();
    EXPECT_EQ(count_flag_over(1s, 50us, kRegCPf), c.per_second) << "RS=" << int{c.rs};
    EXPECT_EQ(irq_->rising_edges(), c.per_second);
  }
}

TEST_F(RtcInterruptTest, TwoHertzFiresAtHalfSecondMultiples) {
  set_reg(kRegA, 0x2f);
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBPie);
  clock_.advance(499ms);
  EXPECT_FALSE(irq_->level());
  clock_.advance(1ms);
  EXPECT_TRUE(irq_->level());
  EXPECT_EQ(reg(kRegC), kRegCIrqf | kRegCPf);
  EXPECT_FALSE(irq_->level());
}

TEST_F(RtcInterruptTest, PeriodicFlagSetWithoutPieButNoInterrupt) {
  clock_.advance(10ms);
  EXPECT_EQ(reg(kRegC), kRegCPf);
  EXPECT_EQ(irq_->rising_edges(), 0);
  EXPECT_EQ(clock_.armed_timers(), 0);
  EXPECT_EQ(reg(kRegC), 0);  // cleared by the read, and no time passed
}

TEST_F(RtcInterruptTest, RateSelectZeroMeansNoPeriodicInterrupt) {
  set_reg(kRegA, 0x20);
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBPie);
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(2s);
  EXPECT_EQ(reg(kRegC) & kRegCPf, 0);
  EXPECT_EQ(irq_->rising_edges(), 0);
}

TEST_F(RtcInterruptTest, ReadingRegisterCClearsItAndLowersTheLine) {
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBPie);
  clock_.advance(1ms);
  EXPECT_TRUE(irq_->level());
  // Unserviced: the line stays up, the timer sleeps, no more edges.
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(100ms);
  EXPECT_EQ(irq_->rising_edges(), 1);
  EXPECT_EQ(reg(kRegC), kRegCIrqf | kRegCPf);
  EXPECT_FALSE(irq_->level());
  EXPECT_EQ(reg(kRegC), 0);
  // Serviced again: the timer is back and the next tick raises a new edge.
  EXPECT_EQ(clock_.armed_timers(), 1);
  clock_.advance(1ms);
  EXPECT_EQ(irq_->rising_edges(), 2);
}

TEST_F(RtcInterruptTest, EnablingASourceWhoseFlagIsSetInterruptsAtOnce) {
  clock_.advance(10ms);  // PF is now set, lazily
  set_reg(kRegB, kRegB24Hour | kRegBPie);
  EXPECT_TRUE(irq_->level());
  EXPECT_EQ(irq_->rising_edges(), 1);
  // Disabling it again drops IRQF and the line (IRQF is PF&PIE | ...).
  set_reg(kRegB, kRegB24Hour);
  EXPECT_FALSE(irq_->level());
  EXPECT_EQ(reg(kRegC), kRegCPf);
}

TEST_F(RtcInterruptTest, UpdateEndedInterruptOncePerSecond) {
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBUie);
  EXPECT_EQ(count_flag_over(3s, 100ms, kRegCUf), 3);
  EXPECT_EQ(irq_->rising_edges(), 3);
  // It comes at the second boundary, when the new second is readable.
  clock_.advance(999ms);
  EXPECT_FALSE(irq_->level());
  clock_.advance(1ms);
  EXPECT_TRUE(irq_->level());
  EXPECT_EQ(reg(kSeconds), 0x24);
}

TEST_F(RtcInterruptTest, SetClearsUieAndStopsUpdates) {
  set_reg(kRegB, kRegB24Hour | kRegBUie | kRegBSet);
  EXPECT_EQ(reg(kRegB), kRegB24Hour | kRegBSet);
  clear_flags();
  clock_.advance(3s);
  EXPECT_EQ(reg(kRegC) & (kRegCUf | kRegCAf), 0);
}

TEST_F(RtcInterruptTest, AlarmFiresAtTheMatchingSecond) {
  set_reg(kSecondsAlarm, 0x25);
  set_reg(kMinutesAlarm, 0x13);
  set_reg(kHoursAlarm, 0x22);
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBAie);
  EXPECT_EQ(clock_.armed_timers(), 1);
  clock_.advance(4999ms);
  EXPECT_FALSE(irq_->level());
  clock_.advance(1ms);  // 22:13:25
  EXPECT_TRUE(irq_->level());
  const uint8_t c = reg(kRegC);
  EXPECT_EQ(c & (kRegCIrqf | kRegCAf), kRegCIrqf | kRegCAf);
  // The alarm is a day away now: the next match is 22:13:25 tomorrow.
  clock_.advance(std::chrono::hours(24) - 1s);
  EXPECT_EQ(irq_->rising_edges(), 1);
  clock_.advance(1s);
  EXPECT_EQ(irq_->rising_edges(), 2);
}

TEST_F(RtcInterruptTest, AlarmDontCareBytes) {
  set_reg(kSecondsAlarm, 0x30);
  set_reg(kMinutesAlarm, 0xff);  // any minute
  set_reg(kHoursAlarm, 0xc0);    // any hour
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBAie);
  EXPECT_EQ(count_flag_over(std::chrono::minutes(2), 500ms, kRegCAf), 2);  // 22:13:30, 22:14:30
  EXPECT_EQ(irq_->rising_edges(), 2);
  set_reg(kSecondsAlarm, 0xc5);  // every second
  clear_flags();
  EXPECT_EQ(count_flag_over(5s, 250ms, kRegCAf), 5);
}

TEST_F(RtcInterruptTest, AlarmMatchesTwelveHourPmBytes) {
  set_reg(kRegB, 0x00);  // 12-hour BCD
  set_reg(kSecondsAlarm, 0x00);
  set_reg(kMinutesAlarm, 0x14);
  set_reg(kHoursAlarm, 0x80 | 0x10);  // 10 PM
  clear_flags();
  set_reg(kRegB, kRegBAie);
  clock_.advance(40s);  // 22:14:00
  EXPECT_TRUE(irq_->level());
}

TEST_F(RtcInterruptTest, AlarmSecondEarlierInTheMinuteWaitsForTheNextMinute) {
  set_reg(kSecondsAlarm, 0x10);  // now is 22:13:20
  set_reg(kMinutesAlarm, 0xc0);
  set_reg(kHoursAlarm, 0xc0);
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBAie);
  clock_.advance(49s);
  EXPECT_FALSE(irq_->level());
  clock_.advance(1s);  // 22:14:10
  EXPECT_TRUE(irq_->level());
  EXPECT_EQ(reg(kMinutes), 0x14);
  EXPECT_EQ(reg(kSeconds), 0x10);
}

TEST_F(RtcInterruptTest, AlarmFlagIsAccountedLazilyWithoutAie) {
  set_reg(kSecondsAlarm, 0x25);
  set_reg(kMinutesAlarm, 0x13);
  set_reg(kHoursAlarm, 0x22);
  clear_flags();
  clock_.advance(4s);
  EXPECT_EQ(reg(kRegC) & kRegCAf, 0);
  clock_.advance(std::chrono::hours(30));  // the match lies inside a long span
  EXPECT_EQ(reg(kRegC) & kRegCAf, kRegCAf);
  EXPECT_EQ(clock_.armed_timers(), 0);
  EXPECT_EQ(irq_->rising_edges(), 0);
}

TEST_F(RtcInterruptTest, UnmatchableAlarmArmsNothing) {
  set_reg(kHoursAlarm, 0x25);  // no hour 25 in BCD 24-hour mode
  clear_flags();
  set_reg(kRegB, kRegB24Hour | kRegBAie);
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(std::chrono::hours(48));
  EXPECT_EQ(reg(kRegC) & kRegCAf, 0);
  // Seconds 0x60 never occur either, even with hours and minutes "any".
  set_reg(kHoursAlarm, 0xff);
  set_reg(kMinutesAlarm, 0xff);
  set_reg(kSecondsAlarm, 0x60);
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(std::chrono::hours(25));
  EXPECT_EQ(reg(kRegC) & kRegCAf, 0);
  EXPECT_EQ(irq_->rising_edges(), 0);
}

TEST_F(RtcInterruptTest, DestroyingTheDeviceWithAnArmedTimerIsSafe) {
  auto irq = std::make_shared<testing::FakeIrqLine>();
  {
    CmosRtc rtc(irq, clock_, clock_);
    const std::byte sel{kRegB};
    const std::byte pie{kRegB24Hour | kRegBPie};
    rtc.write(0, std::span(&sel, 1));
    rtc.write(1, std::span(&pie, 1));
    EXPECT_EQ(clock_.armed_timers(), 1);
  }
  EXPECT_EQ(clock_.armed_timers(), 0);
  clock_.advance(1s);
  EXPECT_EQ(irq->rising_edges(), 0);
}

}  // namespace
}  // namespace keel::devices::rtc_test
