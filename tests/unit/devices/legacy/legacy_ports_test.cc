#include "devices/legacy/legacy_ports.h"

#include <gtest/gtest.h>

#include <array>

#include "devices/acpi/pm_registers.h"
#include "tests/support/fakes.h"

namespace keel::devices {
namespace {

using testing::FakeVmControl;

uint8_t read_byte(BusDevice& device) {
  std::array<std::byte, 1> data{std::byte{0x5a}};
  device.read(0, data);
  return std::to_integer<uint8_t>(data[0]);
}

void write_byte(BusDevice& device, uint8_t value) {
  device.write(0, std::array<std::byte, 1>{std::byte{value}});
}

TEST(PostCodePort, ReadsAllOnesAndIgnoresWrites) {
  PostCodePort port;
  for (int v = 0; v < 256; ++v) write_byte(port, static_cast<uint8_t>(v));
  EXPECT_EQ(read_byte(port), 0xff);
  std::array<std::byte, 4> wide{};
  port.read(0, wide);
  for (std::byte b : wide) EXPECT_EQ(b, std::byte{0xff});
}

TEST(SystemControlPortA, StartsWithA20EnabledAndKeepsWhatIsWritten) {
  FakeVmControl vm;
  SystemControlPortA port(vm);
  EXPECT_EQ(read_byte(port), 0x02);
  write_byte(port, 0x00);
  EXPECT_EQ(read_byte(port), 0x00);
  write_byte(port, 0x02);
  EXPECT_EQ(read_byte(port), 0x02);
  EXPECT_FALSE(vm.stop());
}

TEST(SystemControlPortA, LinuxA20SequenceDoesNotReset) {
  // arch/x86/boot/a20.c enable_a20_fast: read, set bit 1, clear bit 0, write.
  FakeVmControl vm;
  SystemControlPortA port(vm);
  uint8_t value = read_byte(port);
  value = static_cast<uint8_t>((value | 0x02) & ~0x01);
  write_byte(port, value);
  EXPECT_EQ(read_byte(port) & 0x02, 0x02);
  EXPECT_FALSE(vm.stop());
}

TEST(SystemControlPortA, FastResetOnBitZeroRisingEdge) {
  FakeVmControl vm;
  SystemControlPortA port(vm);
  write_byte(port, 0x03);
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::guest_reset);
  EXPECT_EQ(vm.stop()->exit_status, 0);
  EXPECT_EQ(vm.requests(), 1);
  // Bit 0 must go back to 0 before it can reset again.
  write_byte(port, 0x03);
  EXPECT_EQ(vm.requests(), 1);
  write_byte(port, 0x02);
  write_byte(port, 0x01);
  EXPECT_EQ(vm.requests(), 2);
}

TEST(SystemControlPortA, WritesAwayFromOffsetZeroAreIgnored) {
  FakeVmControl vm;
  SystemControlPortA port(vm);
  port.write(1, std::array<std::byte, 1>{std::byte{0x01}});
  port.write(0, {});
  EXPECT_FALSE(vm.stop());
  EXPECT_EQ(read_byte(port), 0x02);
}

TEST(ResetControlPort, LinuxPciRebootSequenceResets) {
  // arch/x86/kernel/reboot.c: write SYS_RST first, then SYS_RST | RST_CPU.
  FakeVmControl vm;
  ResetControlPort port(vm);
  EXPECT_EQ(read_byte(port), 0x00);
  write_byte(port, 0x02);
  EXPECT_FALSE(vm.stop());
  EXPECT_EQ(read_byte(port), 0x02);
  write_byte(port, 0x06);
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::guest_reset);
  EXPECT_EQ(vm.stop()->exit_status, 0);
}

TEST(ResetControlPort, EveryValueWithRstCpuResetsAndNoOtherDoes) {
  for (int v = 0; v < 256; ++v) {
    FakeVmControl vm;
    ResetControlPort port(vm);
    write_byte(port, static_cast<uint8_t>(v));
    EXPECT_EQ(vm.stop().has_value(), (v & 0x04) != 0) << "value " << v;
    if (!(v & 0x04)) {
      EXPECT_EQ(read_byte(port), v & 0x02) << "value " << v;
    }
  }
}

// The FADT's RESET_REG names this port and RESET_VALUE; ACPICA's
// acpi_reset() writes exactly that byte there.
TEST(ResetControlPort, FadtResetRegisterResets) {
  EXPECT_EQ(ResetControlPort::kPort, acpi_pm::kResetRegisterPort);
  FakeVmControl vm;
  ResetControlPort port(vm);
  write_byte(port, acpi_pm::kResetValue);
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::guest_reset);
  EXPECT_EQ(vm.stop()->exit_status, 0);
}

TEST(ResetControlPort, WideReadFillsTheRestWithOnes) {
  FakeVmControl vm;
  ResetControlPort port(vm);
  write_byte(port, 0x02);
  std::array<std::byte, 2> data{};
  port.read(0, data);
  EXPECT_EQ(data[0], std::byte{0x02});
  EXPECT_EQ(data[1], std::byte{0xff});
}

}  // namespace
}  // namespace keel::devices
