// Accesses a guest (or a confused bus) could make: every width at every
// offset, accesses hanging off the end, absurd offsets, empty spans, and a
// long random sequence — none may crash, and the invariants hold.
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/devices/acpi/acpi_pm_fixture.h"

namespace keel::devices::acpi_pm_test {
namespace {

TEST_F(AcpiPmTest, EveryWidthAtEveryOffsetInTheBlock) {
  for (std::size_t width : {1u, 2u, 4u, 8u}) {
    for (uint64_t offset = 0; offset + width <= kPortCount; ++offset) {
      (void)read_value(pm_, offset, width);
      write_value(pm_, offset, width, 0);
    }
  }
  EXPECT_EQ(control() & kSciEn, kSciEn);
  EXPECT_FALSE(vm_.stop());
}

TEST_F(AcpiPmTest, BytesPastTheBlockReadAllOnesAndWritesThereAreDropped) {
  // The bus never sends these; the device still must not read or write out
  // of bounds if one arrives.
  clock_.advance(1s);
  EXPECT_EQ(read_value(pm_, kPortCount - 1, 4), 0xFFFF'FF00u);  // timer byte 3 is 0
  EXPECT_EQ(read_value(pm_, kPortCount, 2), 0xFFFFu);
  EXPECT_EQ(read_value(pm_, UINT64_MAX, 8), UINT64_MAX);
  EXPECT_EQ(read_value(pm_, UINT64_MAX - 1, 8), UINT64_MAX);
  write_value(pm_, kPortCount, 8, UINT64_MAX);
  write_value(pm_, UINT64_MAX, 8, UINT64_MAX);
  write_value(pm_, UINT64_MAX - 3, 8, UINT64_MAX);
  EXPECT_EQ(status(), 0) << "1 s is before the first bit-23 change";
  EXPECT_FALSE(vm_.stop());
}

TEST_F(AcpiPmTest, EmptyAccessesDoNothing) {
  pm_.read(0, {});
  pm_.write(kPm1ControlOffset, {});
  EXPECT_FALSE(vm_.stop());
  EXPECT_EQ(enable(), 0);
}

TEST_F(AcpiPmTest, RandomAccessSequenceKeepsTheInvariants) {
  std::mt19937_64 random(12345);
  for (int i = 0; i < 50'000; ++i) {
    const std::size_t width = std::size_t{1} << (random() % 4);
    const uint64_t offset = random() % (kPortCount + 2);
    uint64_t value = random();
    // Keep the VM alive: never write SLP_EN with the S5 type.
    if (offset <= kPm1ControlOffset + 1 && offset + width > kPm1ControlOffset + 1) {
      const unsigned shift = static_cast<unsigned>(8 * (kPm1ControlOffset + 1 - offset));
      value &= ~(uint64_t{kSlpEn >> 8} << shift);
    }
    if (random() % 2) {
      write_value(pm_, offset, width, value);
    } else {
      (void)read_value(pm_, offset, width);
    }
    if (random() % 64 == 0) clock_.advance(std::chrono::nanoseconds(random() % 3'000'000'000));
    if (random() % 512 == 0) (void)pm_.press_power_button();

    ASSERT_EQ(control() & kSciEn, kSciEn);
    ASSERT_EQ(timer() >> 24, 0u);
    const uint16_t sts = status();
    const uint16_t en = enable();
    ASSERT_EQ(sts & ~(kTmrSts | kPwrbtnSts | kWakSts), 0) << "only events keel has";
    ASSERT_EQ(sci_->level(), (sts & en & (kTmrSts | kPwrbtnSts)) != 0);
    // A timer runs exactly when the next bit-23 change must raise the SCI.
    ASSERT_EQ(clock_.armed_timers(), (en & kTmrEn) != 0 && (sts & kTmrSts) == 0 ? 1 : 0);
  }
  EXPECT_FALSE(vm_.stop());
}

}  // namespace
}  // namespace keel::devices::acpi_pm_test
