#include "devices/legacy/acpi_power.h"

#include <gtest/gtest.h>

#include <array>

#include "tests/support/fakes.h"

namespace keel::devices {
namespace {

using testing::FakeVmControl;

// The obsolete hardware-reduced port (see acpi_power.h): SLP_TYP 5 is soft-off
// and 0x01 is the reset value it was described with.
constexpr uint8_t kSlpEn = 0x20;
constexpr uint8_t kS5SleepType = 5;
constexpr uint8_t kResetValue = 0x01;

void write_byte(AcpiPowerPort& port, uint8_t value) {
  port.write(0, std::array<std::byte, 1>{std::byte{value}});
}

TEST(AcpiPowerPort, S5WithSlpEnPowersOff) {
  // What Linux's acpi_hw_extended_sleep writes for \_S5.
  FakeVmControl vm;
  AcpiPowerPort port(vm);
  write_byte(port, static_cast<uint8_t>((kS5SleepType << 2) | kSlpEn));
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::guest_poweroff);
  EXPECT_EQ(vm.stop()->exit_status, 0);
}

TEST(AcpiPowerPort, ResetValueResets) {
  FakeVmControl vm;
  AcpiPowerPort port(vm);
  write_byte(port, kResetValue);
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::guest_reset);
  EXPECT_EQ(vm.stop()->exit_status, 0);
}

TEST(AcpiPowerPort, ClearingWakeStatusDoesNothing) {
  FakeVmControl vm;
  AcpiPowerPort port(vm);
  write_byte(port, 0x80);
  EXPECT_FALSE(vm.stop());
}

TEST(AcpiPowerPort, OnlyResetValueAndS5RequestsStopTheVm) {
  int poweroffs = 0;
  int resets = 0;
  for (int v = 0; v < 256; ++v) {
    FakeVmControl vm;
    AcpiPowerPort port(vm);
    write_byte(port, static_cast<uint8_t>(v));
    if (!vm.stop()) continue;
    if (vm.stop()->reason == StopReason::guest_poweroff) {
      ++poweroffs;
      // SLP_EN and SLP_TYP 5; reserved bits 7:6 and 1:0 are ignored.
      EXPECT_EQ(v & 0x3c, 0x34) << "value " << v;
    } else {
      ++resets;
      EXPECT_EQ(v, 0x01);
    }
  }
  EXPECT_EQ(poweroffs, 16);
  EXPECT_EQ(resets, 1);
}

TEST(AcpiPowerPort, ReadsZeroAndIgnoresOtherOffsets) {
  FakeVmControl vm;
  AcpiPowerPort port(vm);
  std::array<std::byte, 4> data{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  port.read(0, data);
  for (std::byte b : data) EXPECT_EQ(b, std::byte{0});
  port.write(1, std::array<std::byte, 1>{std::byte{0x34}});
  port.write(0, {});
  EXPECT_FALSE(vm.stop());
}

}  // namespace
}  // namespace keel::devices
