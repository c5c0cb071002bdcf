// S3 (suspend to RAM) on the PM1 registers: SLP_TYP decoding, the suspend
// handler, and wake() with WAK_STS and the per-source status bits.
#include <gtest/gtest.h>

#include "tests/unit/devices/acpi/acpi_pm_fixture.h"

namespace keel::devices::acpi_pm_test {
namespace {

constexpr uint16_t slp_typ(unsigned type) { return static_cast<uint16_t>(type << kSlpTypShift); }

class AcpiPmS3Test : public AcpiPmTest {
 protected:
  void SetUp() override {
    pm_.set_suspend_handler([this] { ++suspends_; });
  }
  // ACPICA's order: clear WAK_STS, write SLP_TYP, then SLP_TYP | SLP_EN.
  void enter_s3() {
    write_status(kWakSts);
    write_control(slp_typ(kS3SleepType));
    write_control(slp_typ(kS3SleepType) | kSlpEn);
  }
  int suspends_ = 0;
};

TEST(AcpiPmS3Constants, MatchQemusPiix4) {
  // QEMU's pc DSDT: \_S3 = {1, 1, 0, 0}, \_S5 = {0, 0, 0, 0}.
  EXPECT_EQ(kS3SleepType, 1);
  EXPECT_EQ(kS5SleepType, 0);
}

TEST_F(AcpiPmS3Test, SlpEnWithS3CallsTheHandlerOnceAndDoesNotWake) {
  enter_s3();
  EXPECT_EQ(suspends_, 1);
  EXPECT_FALSE(vm_.stop()) << "S3 is not a power-off";
  EXPECT_EQ(status() & kWakSts, 0) << "WAK_STS waits for wake()";
  EXPECT_EQ(control() & kSlpEn, 0) << "SLP_EN reads 0";
  EXPECT_EQ(control() & kSlpTypMask, slp_typ(kS3SleepType)) << "SLP_TYP is kept";
  // Each SLP_EN write is a new request; SLP_TYP alone is none.
  write_control(slp_typ(kS3SleepType));
  EXPECT_EQ(suspends_, 1);
  write_control(slp_typ(kS3SleepType) | kSlpEn);
  EXPECT_EQ(suspends_, 2);
}

TEST_F(AcpiPmS3Test, OnlySlpEnWithTheS3TypeSuspends) {
  int expected_suspends = 0;
  int expected_poweroffs = 0;
  for (uint32_t v = 0; v <= 0xFFFF; ++v) {
    const int suspends_before = suspends_;
    const int requests_before = vm_.requests();
    write_control(static_cast<uint16_t>(v));
    const unsigned type = (v & kSlpTypMask) >> kSlpTypShift;
    const bool slp_en = (v & kSlpEn) != 0;
    ASSERT_EQ(suspends_ - suspends_before, slp_en && type == kS3SleepType ? 1 : 0) << std::hex << v;
    ASSERT_EQ(vm_.requests() - requests_before, slp_en && type == kS5SleepType ? 1 : 0) << std::hex << v;
    expected_suspends += slp_en && type == kS3SleepType;
    expected_poweroffs += slp_en && type == kS5SleepType;
  }
  EXPECT_EQ(suspends_, expected_suspends);
  EXPECT_EQ(suspends_, 0x10000 / 2 / 8);
  EXPECT_EQ(expected_poweroffs, 0x10000 / 2 / 8);
}

TEST_F(AcpiPmS3Test, S3ThroughTheHighByteAlone) {
  write_value(pm_, kPm1ControlOffset + 1, 1, (slp_typ(kS3SleepType) | kSlpEn) >> 8);
  EXPECT_EQ(suspends_, 1);
}

TEST_F(AcpiPmTest, S3WithoutAHandlerWakesAtOnceAsBefore) {
  write_control(slp_typ(kS3SleepType) | kSlpEn);
  EXPECT_EQ(status() & kWakSts, kWakSts);
  EXPECT_FALSE(vm_.stop());
}

TEST_F(AcpiPmS3Test, HandlerRunsWithoutTheDeviceLock) {
  // The machine may touch the device from the handler (read it, wake it).
  int inner = 0;
  pm_.set_suspend_handler([&] {
    ++inner;
    (void)status();
    pm_.wake(AcpiPm::WakeSource::other);
  });
  enter_s3();
  EXPECT_EQ(inner, 1);
  EXPECT_EQ(status() & kWakSts, kWakSts);
}

TEST_F(AcpiPmS3Test, WakeSetsWakStsAndTheSourceBit) {
  struct Case {
    AcpiPm::WakeSource source;
    uint16_t status;
  };
  for (const Case c : {Case{AcpiPm::WakeSource::other, static_cast<uint16_t>(kWakSts | kPwrbtnSts)},
                       Case{AcpiPm::WakeSource::power_button, static_cast<uint16_t>(kWakSts | kPwrbtnSts)},
                       Case{AcpiPm::WakeSource::rtc_alarm, static_cast<uint16_t>(kWakSts | kRtcSts)}}) {
    enter_s3();
    pm_.wake(c.source);
    EXPECT_EQ(status(), c.status) << static_cast<int>(c.source);
    // Write-one-to-clear, bit by bit: WAK_STS first, the other stays.
    write_status(kWakSts);
    EXPECT_EQ(status(), c.status & ~kWakSts);
    write_status(c.status);
    EXPECT_EQ(status(), 0);
  }
}

TEST_F(AcpiPmS3Test, WritingZeroDoesNotClearWakSts) {
  enter_s3();
  pm_.wake(AcpiPm::WakeSource::other);
  write_status(0);
  write_value(pm_, kPm1StatusOffset, 1, 0xFF);  // low byte only
  EXPECT_EQ(status() & kWakSts, kWakSts);
  write_value(pm_, kPm1StatusOffset + 1, 1, kWakSts >> 8);
  EXPECT_EQ(status() & kWakSts, 0);
}

TEST_F(AcpiPmS3Test, WakeRaisesTheSciOnlyForEnabledSources) {
  enter_s3();
  pm_.wake(AcpiPm::WakeSource::rtc_alarm);
  EXPECT_FALSE(sci_->level()) << "WAK_STS has no enable; RTC_EN is clear";
  write_status(kWakSts | kRtcSts);
  write_enable(kPwrbtnEn);
  pm_.wake(AcpiPm::WakeSource::power_button);
  EXPECT_TRUE(sci_->level()) << "PWRBTN_STS with PWRBTN_EN";
  write_status(kPwrbtnSts);
  EXPECT_FALSE(sci_->level());
  write_enable(kRtcEn);
  pm_.wake(AcpiPm::WakeSource::rtc_alarm);
  EXPECT_TRUE(sci_->level()) << "RTC_STS with RTC_EN";
  write_status(kRtcSts);
  EXPECT_FALSE(sci_->level());
}

TEST_F(AcpiPmS3Test, TheRtcAlarmWakesOnlyWithRtcEn) {
  EXPECT_TRUE(pm_.wake_armed(AcpiPm::WakeSource::power_button)) << "always, whatever PWRBTN_EN says";
  EXPECT_TRUE(pm_.wake_armed(AcpiPm::WakeSource::other));
  EXPECT_FALSE(pm_.wake_armed(AcpiPm::WakeSource::rtc_alarm));
  write_enable(kRtcEn);
  EXPECT_TRUE(pm_.wake_armed(AcpiPm::WakeSource::rtc_alarm));
  write_enable(0);
  EXPECT_FALSE(pm_.wake_armed(AcpiPm::WakeSource::rtc_alarm));
}

TEST_F(AcpiPmS3Test, ClearingTheHandlerRestoresTheImmediateWake) {
  pm_.set_suspend_handler(nullptr);
  enter_s3();
  EXPECT_EQ(suspends_, 0);
  EXPECT_EQ(status() & kWakSts, kWakSts);
}

}  // namespace
}  // namespace keel::devices::acpi_pm_test
