#include "src/kvm/lapic.h"

#include <gtest/gtest.h>

#include <array>

namespace keel::kvm {
namespace {

TEST(Lapic, BspLintModes) {
  std::array<std::byte, kLapicRegisterPageSize> page{};
  set_lapic_register(page, kLapicLvtLint0, 0x0001'0000);  // masked, fixed
  set_lapic_register(page, kLapicLvtLint1, 0x0001'0400);  // masked, already NMI
  set_lapic_register(page, 0x370, 0xdeadbeef);            // LVT error: untouched
  configure_bsp_lint(page);
  EXPECT_EQ(lapic_register(page, kLapicLvtLint0), 0x0001'0700u) << "ExtINT, other bits kept";
  EXPECT_EQ(lapic_register(page, kLapicLvtLint1), 0x0001'0400u) << "NMI";
  EXPECT_EQ(lapic_register(page, 0x370), 0xdeadbeefu);
}

TEST(Lapic, DeliveryModeReplacesOnlyBits10To8) {
  EXPECT_EQ(with_delivery_mode(0xFFFF'FFFF, LapicDeliveryMode::nmi), 0xFFFF'FCFFu);
  EXPECT_EQ(with_delivery_mode(0, LapicDeliveryMode::ext_int), 0x700u);
}

TEST(Lapic, OutOfPageOffsetsAreIgnored) {
  std::array<std::byte, kLapicRegisterPageSize> page{};
  set_lapic_register(page, kLapicRegisterPageSize - 2, 0xffffffff);
  EXPECT_EQ(lapic_register(page, kLapicRegisterPageSize - 2), 0u);
  EXPECT_EQ(lapic_register(page, kLapicRegisterPageSize - 4), 0u);
}

}  // namespace
}  // namespace keel::kvm
