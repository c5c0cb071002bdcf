// Soft-off through PM1_CNT and the fixed-feature power button.
#include <gtest/gtest.h>

#include "tests/unit/devices/acpi/acpi_pm_fixture.h"

namespace keel::devices::acpi_pm_test {
namespace {

constexpr uint16_t slp_typ(unsigned type) { return static_cast<uint16_t>(type << kSlpTypShift); }

// What ACPICA's acpi_hw_legacy_sleep() does for a sleep state: clear
// WAK_STS and the other status bits, read PM1_CNT, put SLP_TYP in, write it,
// then write it again with SLP_EN.
void acpica_enter_sleep(BusDevice& pm, unsigned type, testing::FakeVmControl& vm) {
  write_value(pm, kPm1StatusOffset, 2, kWakSts);
  write_value(pm, kPm1StatusOffset, 2, 0x8731);  // ACPI_BITMASK_ALL_FIXED_STATUS
  uint16_t value = static_cast<uint16_t>(read_value(pm, kPm1ControlOffset, 2));
  value = static_cast<uint16_t>((value & ~(kSlpTypMask | kSlpEn)) | slp_typ(type));
  write_value(pm, kPm1ControlOffset, 2, value);
  EXPECT_FALSE(vm.stop()) << "SLP_TYP alone does nothing";
  write_value(pm, kPm1ControlOffset, 2, value | kSlpEn);
}

TEST_F(AcpiPmTest, S5WithSlpEnPowersOff) {
  acpica_enter_sleep(pm_, kS5SleepType, vm_);
  ASSERT_TRUE(vm_.stop());
  EXPECT_EQ(vm_.stop()->reason, StopReason::guest_poweroff);
  EXPECT_EQ(vm_.stop()->exit_status, 0);
  EXPECT_EQ(vm_.requests(), 1);
}

TEST_F(AcpiPmTest, OtherSleepTypesAreRefusedWithAnImmediateWake) {
  for (unsigned type = 0; type < 8; ++type) {
    if (type == kS5SleepType) continue;
    acpica_enter_sleep(pm_, type, vm_);
    EXPECT_FALSE(vm_.stop()) << "type " << type;
    // ACPICA then spins until WAK_STS is set: it is, at once.
    EXPECT_EQ(status() & kWakSts, kWakSts) << "type " << type;
    EXPECT_FALSE(sci_->level()) << "WAK_STS has no enable bit and raises no SCI";
    EXPECT_EQ(control() & kSlpEn, 0) << "SLP_EN reads 0";
  }
}

TEST_F(AcpiPmTest, OnlySlpEnWithTheS5TypePowersOff) {
  int poweroffs = 0;
  for (uint32_t v = 0; v <= 0xFFFF; ++v) {
    const int before = vm_.requests();
    write_control(static_cast<uint16_t>(v));
    const bool expected = (v & kSlpEn) != 0 && ((v & kSlpTypMask) >> kSlpTypShift) == kS5SleepType;
    ASSERT_EQ(vm_.requests() - before, expected ? 1 : 0) << std::hex << v;
    poweroffs += expected ? 1 : 0;
  }
  EXPECT_EQ(poweroffs, 0x10000 / 2 / 8);
  ASSERT_TRUE(vm_.stop());
  EXPECT_EQ(vm_.stop()->reason, StopReason::guest_poweroff);
}

TEST_F(AcpiPmTest, SleepThroughByteAndDwordWrites) {
  // The high byte alone carries SLP_TYP and SLP_EN.
  {
    testing::FakeVmControl vm;
    AcpiPm pm(sci_, vm, clock_, clock_);
    write_value(pm, kPm1ControlOffset, 1, 0xFF);  // low byte: never sleeps
    EXPECT_FALSE(vm.stop());
    write_value(pm, kPm1ControlOffset + 1, 1, (slp_typ(kS5SleepType) | kSlpEn) >> 8);
    ASSERT_TRUE(vm.stop());
    EXPECT_EQ(vm.stop()->reason, StopReason::guest_poweroff);
  }
  // A dword write at PM1_CNT also covers the reserved word after it.
  {
    testing::FakeVmControl vm;
    AcpiPm pm(sci_, vm, clock_, clock_);
    write_value(pm, kPm1ControlOffset, 4, 0xFFFF'0000u | slp_typ(kS5SleepType) | kSlpEn);
    ASSERT_TRUE(vm.stop());
    EXPECT_EQ(vm.stop()->reason, StopReason::guest_poweroff);
  }
}

TEST_F(AcpiPmTest, SlpTypWrittenEarlierCombinesWithALaterHighByteSlpEn) {
  write_control(slp_typ(3));
  // The guest rewrites the high byte with S5 and SLP_EN: the new SLP_TYP counts.
  write_value(pm_, kPm1ControlOffset + 1, 1, (slp_typ(kS5SleepType) | kSlpEn) >> 8);
  ASSERT_TRUE(vm_.stop());
}

TEST_F(AcpiPmTest, PowerButtonWithoutEnableSetsStatusOnly) {
  EXPECT_FALSE(pm_.press_power_button());
  EXPECT_EQ(status(), kPwrbtnSts);
  EXPECT_FALSE(sci_->level());
  // Enabling it later raises the SCI for the pending press.
  write_enable(kPwrbtnEn);
  EXPECT_TRUE(sci_->level());
  write_status(kPwrbtnSts);
  EXPECT_FALSE(sci_->level());
}

TEST_F(AcpiPmTest, PowerButtonRaisesTheSciWhenEnabled) {
  // Linux's button driver installs a fixed-event handler, which sets PWRBTN_EN.
  write_enable(kPwrbtnEn);
  EXPECT_TRUE(pm_.press_power_button());
  EXPECT_TRUE(sci_->level());
  EXPECT_EQ(sci_->rising_edges(), 1);
  // A second press while the first is pending: the line is already high.
  EXPECT_TRUE(pm_.press_power_button());
  EXPECT_EQ(sci_->rising_edges(), 1);
  write_status(status());
  EXPECT_FALSE(sci_->level());
  EXPECT_TRUE(pm_.press_power_button());
  EXPECT_EQ(sci_->rising_edges(), 2);
  EXPECT_FALSE(vm_.stop()) << "the guest decides what the button does";
}

TEST_F(AcpiPmTest, SciStaysUpWhileEitherEventIsPending) {
  write_enable(kTmrEn | kPwrbtnEn);
  (void)pm_.press_power_button();
  clock_.advance(time_of_tick(uint64_t{1} << 23));
  ASSERT_EQ(status(), kTmrSts | kPwrbtnSts);
  write_status(kPwrbtnSts);
  EXPECT_TRUE(sci_->level());
  write_status(kTmrSts);
  EXPECT_FALSE(sci_->level());
  EXPECT_EQ(sci_->rising_edges(), 1);
}

}  // namespace
}  // namespace keel::devices::acpi_pm_test
