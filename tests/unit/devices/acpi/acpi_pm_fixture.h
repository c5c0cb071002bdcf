// An AcpiPm on a FakeClock, accessed with the port widths a guest uses
// (inw/outw for PM1 registers, inl for the timer).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include "devices/acpi/acpi_pm.h"
#include "devices/acpi/pm_registers.h"
#include "devices/acpi/pm_timer.h"
#include "tests/support/fakes.h"

namespace keel::devices::acpi_pm_test {

using namespace std::chrono_literals;
using namespace keel::devices::acpi_pm;

// Reads `width` bytes at `offset` as a little-endian value.
inline uint64_t read_value(BusDevice& device, uint64_t offset, std::size_t width) {
  std::array<std::byte, 8> bytes;
  bytes.fill(std::byte{0x5a});
  device.read(offset, std::span(bytes).first(width));
  uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) value |= uint64_t{std::to_integer<uint8_t>(bytes[i])} << (8 * i);
  return value;
}

inline void write_value(BusDevice& device, uint64_t offset, std::size_t width, uint64_t value) {
  std::array<std::byte, 8> bytes{};
  for (std::size_t i = 0; i < width; ++i) bytes[i] = std::byte{static_cast<uint8_t>(value >> (8 * i))};
  device.write(offset, std::span(bytes).first(width));
}

class AcpiPmTest : public ::testing::Test {
 protected:
  uint16_t status() { return static_cast<uint16_t>(read_value(pm_, kPm1StatusOffset, 2)); }
  uint16_t enable() { return static_cast<uint16_t>(read_value(pm_, kPm1EnableOffset, 2)); }
  uint16_t control() { return static_cast<uint16_t>(read_value(pm_, kPm1ControlOffset, 2)); }
  uint32_t timer() { return static_cast<uint32_t>(read_value(pm_, kPmTimerOffset, 4)); }
  void write_status(uint16_t value) { write_value(pm_, kPm1StatusOffset, 2, value); }
  void write_enable(uint16_t value) { write_value(pm_, kPm1EnableOffset, 2, value); }
  void write_control(uint16_t value) { write_value(pm_, kPm1ControlOffset, 2, value); }

  // Move the fake clock to `tick` ticks after the device was made, plus
  // `extra` (which may be negative).
  void advance_to_tick(uint64_t tick, std::chrono::nanoseconds extra = 0ns) {
    clock_.advance(time_of_tick(tick) + extra - clock_.monotonic());
  }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeIrqLine> sci_ = std::make_shared<testing::FakeIrqLine>();
  testing::FakeVmControl vm_;
  AcpiPm pm_{sci_, vm_, clock_, clock_};
};

}  // namespace keel::devices::acpi_pm_test
