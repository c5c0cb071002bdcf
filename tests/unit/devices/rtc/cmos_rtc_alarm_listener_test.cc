// The alarm listener (ACPI S3 wake, src/vmm/acpi_s3.h): called when the
// alarm interrupt fires (AF with AIE), not for other sources or without AIE.
#include "tests/unit/devices/rtc/rtc_test_fixture.h"

namespace keel::devices::rtc_test {
namespace {

using namespace std::chrono_literals;

class RtcAlarmListenerTest : public RtcTest {
 protected:
  RtcAlarmListenerTest() {
    rtc_.set_alarm_listener([this] { ++alarms_; });
    // The fixture's clock starts at 22:13:20; the alarm at 22:13:25.
    set_reg(kSecondsAlarm, 0x25);
    set_reg(kMinutesAlarm, 0x13);
    set_reg(kHoursAlarm, 0x22);
    (void)reg(kRegC);
  }
  int alarms_ = 0;
};

TEST_F(RtcAlarmListenerTest, CalledOnceWhenTheAlarmInterruptFires) {
  set_reg(kRegB, kRegB24Hour | kRegBAie);
  clock_.advance(4999ms);
  EXPECT_EQ(alarms_, 0);
  clock_.advance(1ms);
  EXPECT_TRUE(irq_->level());
  EXPECT_EQ(alarms_, 1);
  clock_.advance(10s);  // IRQF still set: no new edge, no new call
  EXPECT_EQ(alarms_, 1);
}

TEST_F(RtcAlarmListenerTest, NotCalledWithoutAie) {
  set_reg(kRegB, kRegB24Hour);
  clock_.advance(10s);
  EXPECT_EQ(reg(kRegC) & kRegCAf, kRegCAf);  // the flag is there, the interrupt is not
  EXPECT_EQ(alarms_, 0);
}

TEST_F(RtcAlarmListenerTest, NotCalledForUpdateEndedInterrupts) {
  set_reg(kRegB, kRegB24Hour | kRegBUie);
  clock_.advance(1s);
  EXPECT_TRUE(irq_->level());
  EXPECT_EQ(alarms_, 0);
}

TEST_F(RtcAlarmListenerTest, NotCalledAfterAResetClearedAie) {
  set_reg(kRegB, kRegB24Hour | kRegBAie);
  rtc_.reset();
  clock_.advance(10s);
  EXPECT_EQ(alarms_, 0);
}

}  // namespace
}  // namespace keel::devices::rtc_test
