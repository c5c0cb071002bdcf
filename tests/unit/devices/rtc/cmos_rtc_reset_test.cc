// Machine reset of the CMOS RTC (the MC146818 RESET pin): PIE, AIE, UIE
// and SQWE clear in register B, the flags in C clear, IRQ 8 low; the time
// keeps running, the data mode and NVRAM are kept.
#include "rtc_test_fixture.h"

namespace keel::devices::rtc_test {
namespace {

TEST_F(RtcTest, ResetClearsInterruptEnablesAndFlagsOnly) {
  set_reg(kRegB, kRegBPie | kRegBAie | kRegBUie | kRegBSqwe | kRegBBinary | kRegB24Hour);
  set_reg(kRegA, kRegADivider32k | 0x06);  // 1024 Hz periodic
  set_reg(0x40, 0x77);                     // an NVRAM byte
  set_reg(kSecondsAlarm, 0x21);
  clock_.advance(2s);
  ASSERT_TRUE(irq_->level());
  const uint8_t seconds_before = reg(kSeconds);

  rtc_.reset();
  EXPECT_FALSE(irq_->level());
  EXPECT_EQ(reg(kRegB), kRegBBinary | kRegB24Hour);
  EXPECT_EQ(reg(kRegC), 0);
  EXPECT_EQ(reg(kRegA) & 0x7f, kRegADivider32k | 0x06);
  EXPECT_EQ(reg(0x40), 0x77);
  EXPECT_EQ(reg(kSecondsAlarm), 0x21);
  // No interrupt source is enabled any more: time passing raises nothing
  // (the flags still latch, as the datasheet has them, but IRQF stays clear).
  const int edges = irq_->rising_edges();
  clock_.advance(3s);
  EXPECT_EQ(irq_->rising_edges(), edges);
  EXPECT_EQ(reg(kRegC) & kRegCIrqf, 0);
  // The clock kept running through the reset (binary mode now).
  EXPECT_EQ(reg(kSeconds), (seconds_before + 3) % 60);
}

}  // namespace
}  // namespace keel::devices::rtc_test
