// Fuzz target: ACPI fixed-hardware power management (devices/acpi AcpiPm):
// PM1_STS / PM1_EN / PM1_CNT / reserved / PM_TMR at any offset 0..11 and
// width 1/2/4/8 that stays inside the block (as the PIO bus passes them),
// structured register writes as ACPICA does them, power-button presses,
// and time passing on the tests' FakeClock (whose timers fire from
// advance(), as the event loop would fire the device's timer).
//
// Input: [op count u8][ops: 12 bytes each].
//
// Invariants, beyond "no crash": the harness works out every register
// from what the guest wrote and how much time passed, and checks that:
//  - PM1_STS is exactly: TMR_STS set whenever bit 23 of the timer changed
//    since the guest last cleared it, PWRBTN_STS after a press, WAK_STS
//    after a sleep request for a state other than S5; each cleared only by
//    writing 1 to it (write-one-to-clear; writing 0 changes nothing);
//  - PM1_EN reads back what was written, limited to the defined enables;
//    PM1_CNT reads back its stored bits with SCI_EN always 1; the reserved
//    word reads 0;
//  - PM_TMR is the 3.579545 MHz count of the time since start, 24 bits,
//    bits 31:24 zero; so it only moves forward (modulo 2^24) by exactly the
//    ticks that passed;
//  - the SCI line is high exactly while (PM1_STS & PM1_EN & (TMR | PWRBTN))
//    is non-zero, also between guest accesses (the timer raises it);
//  - a power-off request happens exactly on SLP_EN with SLP_TYP = S5;
//  - press_power_button() reports whether PWRBTN_EN is set.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>

#include "devices/acpi/acpi_pm.h"
#include "devices/acpi/pm_registers.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/support/fakes.h"

namespace {

using keel::fuzz::FuzzInput;
using namespace keel::devices::acpi_pm;

constexpr size_t kOpBytes = 12;
constexpr std::array<size_t, 4> kWidths{1, 2, 4, 8};
constexpr uint16_t kEnableBits = kTmrEn | kGblEn | kPwrbtnEn | kSlpbtnEn | kRtcEn | kPciexpWakeDis;
constexpr uint16_t kControlStored = kBmRld | kPm1CntIgnored | kSlpTypMask;
constexpr uint16_t kSciSources = kTmrSts | kPwrbtnSts;

uint64_t ticks_at(std::chrono::nanoseconds t) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(t.count()) * kTimerHz / 1'000'000'000);
}

class Harness {
 public:
  Harness() : pm_(sci_, vm_, clock_, clock_) {}

  // Catches the shadow up with the time that passed: TMR_STS sets on every
  // change of bit 23.
  void account() {
    const uint64_t ticks = ticks_at(clock_.monotonic());
    if (ticks / kTicksPerTmrSts != ticks_ / kTicksPerTmrSts) status_ |= kTmrSts;
    ticks_ = ticks;
  }

  std::array<uint8_t, kPortCount> expected_registers() const {
    std::array<uint8_t, kPortCount> regs{};
    const uint16_t control = static_cast<uint16_t>(control_ | kSciEn);
    const uint32_t timer = static_cast<uint32_t>(ticks_ & kTimerMask);
    std::memcpy(&regs[kPm1StatusOffset], &status_, 2);
    std::memcpy(&regs[kPm1EnableOffset], &enable_, 2);
    std::memcpy(&regs[kPm1ControlOffset], &control, 2);
    std::memcpy(&regs[kPmTimerOffset], &timer, 4);
    return regs;
  }

  void read(uint64_t offset, size_t width) {
    account();
    std::array<std::byte, 8> bytes{};
    pm_.read(offset, std::span(bytes).first(width));
    const auto regs = expected_registers();
    for (size_t i = 0; i < width; ++i) {
      FUZZ_CHECK(std::to_integer<uint8_t>(bytes[i]) == regs[offset + i],
                 "PM1_STS/PM1_EN/PM1_CNT/PM_TMR read what the guest wrote and the time that passed");
    }
  }

  void write(uint64_t offset, std::span<const uint8_t> bytes) {
    account();
    std::array<uint8_t, kPortCount> value{}, mask{};
    for (size_t i = 0; i < bytes.size(); ++i) {
      value[offset + i] = bytes[i];
      mask[offset + i] = 0xFF;
    }
    const auto word = [&](const std::array<uint8_t, kPortCount>& a, uint64_t at) {
      return static_cast<uint16_t>(a[at] | (a[at + 1] << 8));
    };
    const uint16_t status_mask = word(mask, kPm1StatusOffset), enable_mask = word(mask, kPm1EnableOffset),
                   control_mask = word(mask, kPm1ControlOffset);
    status_ &= static_cast<uint16_t>(~(word(value, kPm1StatusOffset) & status_mask));
    enable_ = static_cast<uint16_t>((enable_ & ~enable_mask) | (word(value, kPm1EnableOffset) & enable_mask & kEnableBits));
    if (control_mask != 0) {
      const auto merged = static_cast<uint16_t>((control_ & ~control_mask) | (word(value, kPm1ControlOffset) & control_mask));
      control_ = merged & kControlStored;
      if (merged & kSlpEn) {
        if (((merged & kSlpTypMask) >> kSlpTypShift) == kS5SleepType) {
          ++expected_poweroffs_;
        } else {
          status_ |= kWakSts;
        }
      }
    }
    pm_.write(offset, std::as_bytes(bytes));
  }

  void run(FuzzInput& op) {
    const uint8_t kind = op.u8();
    switch (kind % 8) {
      case 0:
      case 1: {  // any access inside the block
        const uint64_t offset = op.u8() % kPortCount;
        const size_t width = kWidths[op.u8() % 4];
        std::array<uint8_t, 8> value{};
        const auto bytes = op.bytes(8);
        std::memcpy(value.data(), bytes.data(), bytes.size());
        if (offset + width > kPortCount) break;
        if (kind % 8 == 0) {
          read(offset, width);
        } else {
          write(offset, std::span(value).first(width));
        }
        break;
      }
      case 2: {  // a 16-bit register write as ACPICA does it
        static constexpr std::array<uint64_t, 3> kRegisters{kPm1StatusOffset, kPm1EnableOffset, kPm1ControlOffset};
        const uint64_t offset = kRegisters[op.u8() % 3];
        const uint16_t value = op.u16();
        write(offset, std::array<uint8_t, 2>{static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8)});
        break;
      }
      case 3: read(kPmTimerOffset, 4); break;  // the clocksource
      case 4: {
        account();
        status_ |= kPwrbtnSts;
        FUZZ_CHECK(pm_.press_power_button() == ((enable_ & kPwrbtnEn) != 0),
                   "a press reports whether PWRBTN_EN is set");
        break;
      }
      default: {  // time passes: nanoseconds to minutes
        static constexpr std::array<int64_t, 4> kUnit{1, 1'000, 1'000'000, 100'000'000};
        const int64_t unit = kUnit[op.u8() % 4];
        clock_.advance(std::chrono::nanoseconds(int64_t{op.u16()} * unit));
        break;
      }
    }
  }

  void check() {
    account();
    FUZZ_CHECK(sci_->level() == ((status_ & enable_ & kSciSources) != 0),
               "the SCI is high exactly while an enabled event is pending");
    FUZZ_CHECK(vm_.requests() == expected_poweroffs_, "power-off exactly on SLP_EN with the S5 type");
  }

 private:
  std::shared_ptr<keel::testing::FakeIrqLine> sci_ = std::make_shared<keel::testing::FakeIrqLine>();
  keel::testing::FakeVmControl vm_;
  keel::testing::FakeClock clock_;
  keel::devices::AcpiPm pm_;
  uint64_t ticks_ = 0;
  uint16_t status_ = 0, enable_ = 0, control_ = 0;
  int expected_poweroffs_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * kOpBytes));

  Harness harness;
  harness.check();
  while (!script.empty()) {
    FuzzInput op(script.bytes(kOpBytes));
    harness.run(op);
    harness.check();
  }
  return 0;
}
