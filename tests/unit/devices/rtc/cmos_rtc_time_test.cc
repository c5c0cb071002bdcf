// Reading and setting the clock: formats, SET, divider reset, UIP.
#include "tests/unit/devices/rtc/rtc_test_fixture.h"

namespace keel::devices::rtc_test {
namespace {

TEST_F(RtcTest, PowerOnControlRegistersAsQemu) {
  EXPECT_EQ(reg(kRegA), 0x26);
  EXPECT_EQ(reg(kRegB), 0x02);
  EXPECT_EQ(reg(kRegC), 0x00);
  EXPECT_EQ(reg(kRegD), 0x80);
}

TEST_F(RtcTest, ReadsHostTimeInBcd) {
  EXPECT_EQ(reg(kSeconds), 0x20);
  EXPECT_EQ(reg(kMinutes), 0x13);
  EXPECT_EQ(reg(kHours), 0x22);
  EXPECT_EQ(reg(kDayOfWeek), 0x03);  // Tuesday, Sunday = 1
  EXPECT_EQ(reg(kDayOfMonth), 0x14);
  EXPECT_EQ(reg(kMonth), 0x11);
  EXPECT_EQ(reg(kYear), 0x23);
  EXPECT_EQ(reg(kCentury), 0x20);
  EXPECT_EQ(reg(kPs2Century), 0x20);  // 0x37 aliases the century, as in QEMU
}

TEST_F(RtcTest, ReadsHostTimeInBinary) {
  set_reg(kRegB, kRegB24Hour | kRegBBinary);
  EXPECT_EQ(reg(kSeconds), 20);
  EXPECT_EQ(reg(kMinutes), 13);
  EXPECT_EQ(reg(kHours), 22);
  EXPECT_EQ(reg(kDayOfWeek), 3);
  EXPECT_EQ(reg(kDayOfMonth), 14);
  EXPECT_EQ(reg(kMonth), 11);
  EXPECT_EQ(reg(kYear), 23);
  EXPECT_EQ(reg(kCentury), 20);
}

TEST_F(RtcTest, TwelveHourModeSetsPmBit) {
  set_reg(kRegB, 0x00);  // 12-hour, BCD
  EXPECT_EQ(reg(kHours), 0x80 | 0x10);  // 22:13 is 10 PM
  set_reg(kRegB, kRegBBinary);
  EXPECT_EQ(reg(kHours), 0x80 | 10);
  clock_.set_realtime(std::chrono::seconds(1'699'921'800));  // 2023-11-14 00:30 UTC
  set_reg(kRegB, 0x00);
  EXPECT_EQ(reg(kHours), 0x12);  // 12 AM
  clock_.set_realtime(std::chrono::seconds(1'699'963'500));  // 2023-11-14 12:05 UTC
  EXPECT_EQ(reg(kHours), 0x92);  // 12 PM
}

TEST_F(RtcTest, FollowsTheClockAsItAdvances) {
  clock_.advance(61s);
  EXPECT_EQ(reg(kSeconds), 0x21);
  EXPECT_EQ(reg(kMinutes), 0x14);
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(reg(kHours), 0x00);
  EXPECT_EQ(reg(kDayOfMonth), 0x15);
  EXPECT_EQ(reg(kDayOfWeek), 0x04);
}

TEST_F(RtcTest, GuestSetTimeWithSetBitPersistsAsClockAdvances) {
  set_reg(kRegB, kRegBSet | kRegB24Hour);
  set_reg(kCentury, 0x20);
  set_reg(kYear, 0x31);
  set_reg(kMonth, 0x02);
  set_reg(kDayOfMonth, 0x28);
  set_reg(kHours, 0x23);
  set_reg(kMinutes, 0x59);
  set_reg(kSeconds, 0x58);
  // While SET is up the bytes hold what the guest wrote and do not tick.
  clock_.advance(5s);
  EXPECT_EQ(reg(kSeconds), 0x58);
  EXPECT_EQ(reg(kRegA) & kRegAUip, 0);
  set_reg(kRegB, kRegB24Hour);
  EXPECT_EQ(reg(kSeconds), 0x58);
  clock_.advance(2s);
  EXPECT_EQ(reg(kSeconds), 0x00);
  EXPECT_EQ(reg(kMinutes), 0x00);
  EXPECT_EQ(reg(kHours), 0x00);
  EXPECT_EQ(reg(kDayOfMonth), 0x01);
  EXPECT_EQ(reg(kMonth), 0x03);  // 2031 is not a leap year
  EXPECT_EQ(reg(kDayOfWeek), 0x07);
  EXPECT_EQ(reg(kYear), 0x31);
  clock_.advance(std::chrono::hours(24 * 400));
  EXPECT_EQ(reg(kYear), 0x32);
  EXPECT_EQ(reg(kMonth), 0x04);
  EXPECT_EQ(reg(kDayOfMonth), 0x04);
  EXPECT_EQ(reg(kSeconds), 0x00);
}

TEST_F(RtcTest, SetKeepsSubSecondPhase) {
  clock_.advance(300ms);
  set_reg(kRegB, kRegBSet | kRegB24Hour);
  set_reg(kSeconds, 0x40);
  clock_.advance(1000ms);  // SET for a while: the divider keeps running
  set_reg(kRegB, kRegB24Hour);
  clock_.advance(699ms);  // phase is now .999
  EXPECT_EQ(reg(kSeconds), 0x40);
  clock_.advance(1ms);
  EXPECT_EQ(reg(kSeconds), 0x41);
}

TEST_F(RtcTest, LinuxStyleSetStartsHalfASecondAfterDividerRestart) {
  set_time_linux_style(0x20, 0x24, 0x02, 0x28, 0x23, 0x59, 0x59);
  EXPECT_EQ(reg(kSeconds), 0x59);
  clock_.advance(499ms);
  EXPECT_EQ(reg(kSeconds), 0x59);
  clock_.advance(1ms);
  EXPECT_EQ(reg(kSeconds), 0x00);
  EXPECT_EQ(reg(kDayOfMonth), 0x29);  // 2024 is a leap year
  EXPECT_EQ(reg(kMonth), 0x02);
  EXPECT_EQ(reg(kDayOfWeek), 0x05);
}

TEST_F(RtcTest, CenturyRollsOver) {
  set_time_linux_style(0x20, 0x99, 0x12, 0x31, 0x23, 0x59, 0x59);
  clock_.advance(500ms);
  EXPECT_EQ(reg(kYear), 0x00);
  EXPECT_EQ(reg(kCentury), 0x21);
  EXPECT_EQ(reg(kMonth), 0x01);
  EXPECT_EQ(reg(kDayOfMonth), 0x01);
  EXPECT_EQ(reg(kDayOfWeek), 0x06);  // 2100-01-01 is a Friday
}

TEST_F(RtcTest, BinaryTwelveHourSetAndRead) {
  set_reg(kRegB, kRegBSet | kRegBBinary);  // 12-hour binary
  set_reg(kHours, 0x80 | 11);              // 11 PM
  set_reg(kMinutes, 59);
  set_reg(kSeconds, 59);
  set_reg(kRegB, kRegBBinary);
  clock_.advance(1s);
  EXPECT_EQ(reg(kHours), 12);  // 12 AM
  EXPECT_EQ(reg(kMinutes), 0);
}

TEST_F(RtcTest, WritingATimeByteWhileRunningChangesTheClock) {
  set_reg(kMinutes, 0x45);  // as QEMU: applied at once, the rest keeps going
  EXPECT_EQ(reg(kMinutes), 0x45);
  EXPECT_EQ(reg(kHours), 0x22);
  EXPECT_EQ(reg(kSeconds), 0x20);
  clock_.advance(60s);
  EXPECT_EQ(reg(kMinutes), 0x46);
}

TEST_F(RtcTest, DividerResetStopsTheClock) {
  set_reg(kRegA, 0x76);  // DV = 111
  clock_.advance(10s);
  EXPECT_EQ(reg(kSeconds), 0x20);
  EXPECT_EQ(reg(kRegC) & kRegCPf, 0);  // the periodic source stops too
  EXPECT_EQ(reg(kRegA) & kRegAUip, 0);
  set_reg(kRegA, 0x26);
  clock_.advance(499ms);
  EXPECT_EQ(reg(kSeconds), 0x20);
  clock_.advance(1ms);
  EXPECT_EQ(reg(kSeconds), 0x21);
}

TEST_F(RtcTest, UipIsSetFor244MicrosecondsBeforeEachUpdate) {
  // The clock starts exactly on a second boundary.
  EXPECT_EQ(reg(kRegA), 0x26);
  clock_.advance(1s - 244'141ns);
  EXPECT_EQ(reg(kRegA), 0x26);
  clock_.advance(1ns);  // 244140 ns before the boundary
  EXPECT_EQ(reg(kRegA), 0x26 | kRegAUip);
  EXPECT_EQ(reg(kSeconds), 0x20);  // the update hasn't happened yet
  clock_.advance(244'139ns);
  EXPECT_EQ(reg(kRegA), 0x26 | kRegAUip);
  clock_.advance(1ns);
  EXPECT_EQ(reg(kRegA), 0x26);
  EXPECT_EQ(reg(kSeconds), 0x21);
}

TEST_F(RtcTest, UipClearWhileSetOrDividerReset) {
  clock_.advance(1s - 100us);
  ASSERT_NE(reg(kRegA) & kRegAUip, 0);
  set_reg(kRegB, kRegBSet | kRegB24Hour);
  EXPECT_EQ(reg(kRegA) & kRegAUip, 0);
  set_reg(kRegB, kRegB24Hour);
  EXPECT_NE(reg(kRegA) & kRegAUip, 0);
  set_reg(kRegA, 0x66);
  EXPECT_EQ(reg(kRegA), 0x66);
}

TEST_F(RtcTest, UipBitIsReadOnly) {
  set_reg(kRegA, 0x26 | kRegAUip);
  EXPECT_EQ(reg(kRegA), 0x26);
}

TEST_F(RtcTest, RegisterDAlwaysReportsValidRam) {
  set_reg(kRegD, 0x00);
  EXPECT_EQ(reg(kRegD), 0x80);
}

}  // namespace
}  // namespace keel::devices::rtc_test
