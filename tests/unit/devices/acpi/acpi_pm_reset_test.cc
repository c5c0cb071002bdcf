// Machine reset of the ACPI PM registers: PM1 status, enable and control
// read as on a fresh device, the SCI is low and stays low; PM_TMR keeps
// counting (it is not reset on a PC either).
#include "acpi_pm_fixture.h"

namespace keel::devices::acpi_pm_test {
namespace {

TEST_F(AcpiPmTest, ResetReadsLikeAFreshDevice) {
  testing::FakeClock fresh_clock;
  testing::FakeVmControl fresh_vm;
  AcpiPm fresh{std::make_shared<testing::FakeIrqLine>(), fresh_vm, fresh_clock, fresh_clock};

  write_enable(kPwrbtnEn | kTmrEn);
  ASSERT_TRUE(pm_.press_power_button());
  ASSERT_TRUE(sci_->level());
  advance_to_tick(1u << 23, 1us);
  const uint32_t timer_before = timer();

  pm_.reset();
  EXPECT_FALSE(sci_->level());
  EXPECT_EQ(status(), read_value(fresh, kPm1StatusOffset, 2));
  EXPECT_EQ(enable(), read_value(fresh, kPm1EnableOffset, 2));
  EXPECT_EQ(control(), read_value(fresh, kPm1ControlOffset, 2));
  EXPECT_GE(timer(), timer_before);
  // TMR_EN is off now: another bit-23 change raises no SCI.
  advance_to_tick(2u << 23, 1us);
  EXPECT_FALSE(sci_->level());
}

}  // namespace
}  // namespace keel::devices::acpi_pm_test
