// PM1 status, enable and control registers as ACPICA drives them.
#include <gtest/gtest.h>

#include "keel/config_error.h"
#include "tests/unit/devices/acpi/acpi_pm_fixture.h"

namespace keel::devices::acpi_pm_test {
namespace {

TEST_F(AcpiPmTest, PowerOnState) {
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(enable(), 0);
  EXPECT_EQ(control(), kSciEn);
  EXPECT_FALSE(sci_->level());
  EXPECT_FALSE(vm_.stop());
}

TEST_F(AcpiPmTest, SciEnAlwaysReadsOne) {
  // No SMI_CMD: the platform is in ACPI mode and cannot leave it.
  write_control(0);
  EXPECT_EQ(control() & kSciEn, kSciEn);
  write_value(pm_, kPm1ControlOffset, 1, 0x00);
  EXPECT_EQ(control() & kSciEn, kSciEn);
}

TEST_F(AcpiPmTest, ControlKeepsItsReadWriteBitsOnly) {
  // BM_RLD, the "ignore" bit 9 and SLP_TYP read back; GBL_RLS and SLP_EN
  // are write-only; reserved bits read 0. (No SLP_EN here: that would sleep.)
  const uint16_t written = static_cast<uint16_t>(0xFFFF & ~kSlpEn);
  write_control(written);
  EXPECT_EQ(control(), kSciEn | kBmRld | kPm1CntIgnored | kSlpTypMask);
  EXPECT_FALSE(vm_.stop());
  write_control(0);
  EXPECT_EQ(control(), kSciEn);
}

TEST_F(AcpiPmTest, EnableBitsReadBackAndReservedBitsReadZero) {
  write_enable(0xFFFF);
  EXPECT_EQ(enable(), kTmrEn | kGblEn | kPwrbtnEn | kSlpbtnEn | kRtcEn | kPciexpWakeDis);
  write_enable(kGblEn);
  // ACPICA's acpi_enable_event() reads the bit back and gives up if it did
  // not stick (e.g. "No response from Global Lock hardware").
  EXPECT_EQ(enable(), kGblEn);
  write_enable(0);
  EXPECT_EQ(enable(), 0);
}

TEST_F(AcpiPmTest, StatusBitsAreWriteOneToClear) {
  (void)pm_.press_power_button();
  clock_.advance(time_of_tick(uint64_t{1} << 23));
  ASSERT_EQ(status(), kTmrSts | kPwrbtnSts);
  write_status(0);  // writing 0 changes nothing
  EXPECT_EQ(status(), kTmrSts | kPwrbtnSts);
  write_status(kPwrbtnSts);  // only the bit written as 1 clears
  EXPECT_EQ(status(), kTmrSts);
  write_status(0xFFFF);  // what acpi_hw_clear_acpi_status writes, roughly
  EXPECT_EQ(status(), 0);
}

TEST_F(AcpiPmTest, GuestCannotSetStatusBits) {
  write_status(0xFFFF);
  EXPECT_EQ(status(), 0);
  write_enable(kTmrEn | kPwrbtnEn);
  write_status(0xFFFF);
  EXPECT_FALSE(sci_->level());
}

TEST_F(AcpiPmTest, DwordWriteAtPm1EvtBlkClearsStatusAndSetsEnable) {
  (void)pm_.press_power_button();
  write_value(pm_, kPm1StatusOffset, 4, (uint32_t{kPwrbtnEn} << 16) | kPwrbtnSts);
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(enable(), kPwrbtnEn);
  EXPECT_EQ(read_value(pm_, kPm1StatusOffset, 4), uint32_t{kPwrbtnEn} << 16);
}

TEST_F(AcpiPmTest, ByteAccessesReachHalfARegister) {
  write_enable(kTmrEn);
  write_value(pm_, kPm1EnableOffset + 1, 1, kPwrbtnEn >> 8);  // high byte only
  EXPECT_EQ(enable(), kTmrEn | kPwrbtnEn);
  write_value(pm_, kPm1EnableOffset, 1, 0);  // low byte only
  EXPECT_EQ(enable(), kPwrbtnEn);
  EXPECT_EQ(read_value(pm_, kPm1EnableOffset + 1, 1), kPwrbtnEn >> 8);
  EXPECT_EQ(read_value(pm_, kPm1ControlOffset, 1), kSciEn);

  (void)pm_.press_power_button();
  write_value(pm_, kPm1StatusOffset, 1, 0xFF);  // low byte: PWRBTN_STS is in the high one
  EXPECT_EQ(status(), kPwrbtnSts);
  write_value(pm_, kPm1StatusOffset + 1, 1, kPwrbtnSts >> 8);
  EXPECT_EQ(status(), 0);
}

TEST_F(AcpiPmTest, TimerReadsByPartsAndIgnoresWrites) {
  clock_.advance(1s);  // 3579545 = 0x369E99
  EXPECT_EQ(read_value(pm_, kPmTimerOffset, 1), 0x99u);
  EXPECT_EQ(read_value(pm_, kPmTimerOffset + 1, 1), 0x9Eu);
  EXPECT_EQ(read_value(pm_, kPmTimerOffset + 2, 2), 0x0036u);
  write_value(pm_, kPmTimerOffset, 4, 0);
  write_value(pm_, kPmTimerOffset + 2, 2, 0xFFFF);
  EXPECT_EQ(timer(), 0x369E99u);
}

TEST_F(AcpiPmTest, ReservedWordReadsZeroAndIgnoresWrites) {
  write_value(pm_, 6, 2, 0xFFFF);
  EXPECT_EQ(read_value(pm_, 6, 2), 0u);
  EXPECT_EQ(control(), kSciEn);
}

TEST_F(AcpiPmTest, QwordReadCoversControlReservedAndTimer) {
  clock_.advance(1s);
  write_control(kBmRld);
  EXPECT_EQ(read_value(pm_, kPm1ControlOffset, 8), (uint64_t{0x369E99} << 32) | kSciEn | kBmRld);
}

TEST(AcpiPm, RejectsAMissingSciLine) {
  testing::FakeClock clock;
  testing::FakeVmControl vm;
  EXPECT_THROW(AcpiPm(nullptr, vm, clock, clock), ConfigError);
}

}  // namespace
}  // namespace keel::devices::acpi_pm_test
