// A CmosRtc on a FakeClock, driven through its two ports the way a guest
// does (outb 0x70 index, inb/outb 0x71 data).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "devices/rtc/cmos_rtc.h"
#include "devices/rtc/rtc_registers.h"
#include "tests/support/fakes.h"

namespace keel::devices::rtc_test {

using namespace std::chrono_literals;
using namespace keel::devices::rtc;

// FakeClock's default start: 2023-11-14 22:13:20 UTC, a Tuesday.
inline constexpr std::chrono::seconds kStart{1'700'000'000};

class RtcTest : public ::testing::Test {
 protected:
  explicit RtcTest(std::chrono::nanoseconds start = kStart)
      : clock_(start), irq_(std::make_shared<testing::FakeIrqLine>()), rtc_(irq_, clock_, clock_) {}

  void select(uint8_t index) {
    const std::byte b{index};
    rtc_.write(0, std::span(&b, 1));
  }
  uint8_t read_data() {
    std::byte b{0};
    rtc_.read(1, std::span(&b, 1));
    return static_cast<uint8_t>(b);
  }
  void write_data(uint8_t value) {
    const std::byte b{value};
    rtc_.write(1, std::span(&b, 1));
  }
  uint8_t reg(uint8_t index) {
    select(index);
    return read_data();
  }
  void set_reg(uint8_t index, uint8_t value) {
    select(index);
    write_data(value);
  }
  // Set the date and time as Linux's mc146818_set_time does: SET, divider
  // reset, write the bytes, clear SET, restart the divider.
  void set_time_linux_style(uint8_t century, uint8_t year, uint8_t month, uint8_t day, uint8_t hour,
                            uint8_t minute, uint8_t second) {
    const uint8_t b = reg(kRegB);
    const uint8_t a = reg(kRegA);
    set_reg(kRegB, b | kRegBSet);
    set_reg(kRegA, a | 0x70);
    set_reg(kYear, year);
    set_reg(kMonth, month);
    set_reg(kDayOfMonth, day);
    set_reg(kHours, hour);
    set_reg(kMinutes, minute);
    set_reg(kSeconds, second);
    set_reg(kCentury, century);
    set_reg(kRegB, b);
    set_reg(kRegA, a);
  }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeIrqLine> irq_;
  CmosRtc rtc_;
};

}  // namespace keel::devices::rtc_test
