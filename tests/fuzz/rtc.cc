// Fuzz target: the MC146818 CMOS RTC and NVRAM (devices/rtc CmosRtc) on a
// fake IRQ 8 line and the tests' FakeClock (manual time, timers fired from
// advance()). The script mixes raw index/data port accesses at any width,
// register reads and writes by index (NMI bit included), whole "set the
// time" sequences as a driver does them (SET, clock bytes in the current
// BCD/binary and 12/24-hour format, or raw bytes, SET cleared), register
// A/B programming (divider, rate, PIE/AIE/UIE, DM, 24h), alarms, clock
// advances from nanoseconds to days, and host clock steps.
//
// Input: [op count u8][ops: 12 bytes each].
//
// Invariants, beyond "no crash":
//  - register C: bits 3:0 read 0; its IRQF bit equals the line level just
//    before the read and equals (flags & enables) != 0; the read clears it
//    (a second read at the same instant is 0) and leaves the line low;
//  - the line, when high, has a flag and its enable behind it (checked at
//    the next C read);
//  - register D reads 0x80; register A reads back what was written (UIP
//    aside, only while the clock runs); register B reads back what was
//    written, UIE cleared when written with SET; alarms and NVRAM bytes
//    read back what was written;
//  - while the clock is stopped (SET, or the divider not running) clock
//    bytes written read back unchanged; clearing SET after writing a valid
//    time in the current format reads the same time back at once;
//  - while the clock runs every clock byte read is a valid encoding in
//    the current format (BCD digits, ranges, 12-hour values 1..12 with the
//    PM bit) and the date read at one instant exists in the calendar.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "devices/rtc/cmos_rtc.h"
#include "devices/rtc/rtc_registers.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/support/fakes.h"

namespace {

using keel::fuzz::FuzzInput;
using namespace keel::devices::rtc;

constexpr size_t kOpBytes = 12;
// Clock bytes in the order a driver writes them.
constexpr std::array<uint8_t, 8> kClockBytes{kSeconds, kMinutes, kHours, kDayOfWeek,
                                             kDayOfMonth, kMonth, kYear, kCentury};

struct Format {
  bool binary;
  bool h24;
};

uint8_t encode(int value, const Format& f) {
  return f.binary ? static_cast<uint8_t>(value) : static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}
std::optional<int> decode(uint8_t byte, const Format& f) {
  if (f.binary) return byte;
  if ((byte & 0x0F) > 9 || (byte >> 4) > 9) return std::nullopt;
  return (byte >> 4) * 10 + (byte & 0x0F);
}
uint8_t encode_hour(int hour24, const Format& f) {
  if (f.h24) return encode(hour24, f);
  const int h12 = hour24 % 12 == 0 ? 12 : hour24 % 12;
  return static_cast<uint8_t>(encode(h12, f) | (hour24 >= 12 ? 0x80 : 0));
}
std::optional<int> decode_hour(uint8_t byte, const Format& f) {
  if (f.h24) {
    auto h = decode(byte, f);
    return h && *h < 24 ? h : std::nullopt;
  }
  auto h = decode(byte & 0x7F, f);
  if (!h || *h < 1 || *h > 12) return std::nullopt;
  return (*h % 12) + ((byte & 0x80) ? 12 : 0);
}
int days_in_month(int month, int year) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<size_t>(month - 1)];
}

// The clock bytes as one instant's values; nullopt fields are invalid.
struct Clock {
  std::array<uint8_t, 8> raw{};
  bool valid(const Format& f, bool check_weekday) const {
    const auto sec = decode(raw[0], f), min = decode(raw[1], f), hour = decode_hour(raw[2], f);
    const auto dow = decode(raw[3], f), day = decode(raw[4], f), month = decode(raw[5], f);
    const auto year = decode(raw[6], f), century = decode(raw[7], f);
    if (!sec || *sec > 59 || !min || *min > 59 || !hour) return false;
    if (check_weekday && (!dow || *dow < 1 || *dow > 7)) return false;
    if (!month || *month < 1 || *month > 12 || !year || *year > 99 || !century) return false;
    return day && *day >= 1 && *day <= days_in_month(*month, *century * 100 + *year);
  }
};

class Harness {
 public:
  Harness() : rtc_(irq_, clock_, clock_) {}

  void select(uint8_t index) { port_write(0, index); }
  uint8_t port_read(uint64_t offset) {
    std::byte value{};
    rtc_.read(offset, std::span(&value, 1));
    return std::to_integer<uint8_t>(value);
  }
  void port_write(uint64_t offset, uint8_t value) {
    const std::byte byte{value};
    rtc_.write(offset, std::span(&byte, 1));
    if (offset == 0) index_ = value & kIndexMask;
  }
  uint8_t read_reg(uint8_t reg) {
    select(reg);
    return checked_read();
  }
  // A data-port read of the selected register, checked against the shadow.
  uint8_t checked_read() {
    const uint8_t reg = index_;
    const bool line = irq_->level();
    const uint8_t value = port_read(1);
    if (reg == kRegC) {
      FUZZ_CHECK((value & 0x0F) == 0, "register C bits 3:0 read 0");
      FUZZ_CHECK(((value & kRegCIrqf) != 0) == line, "IRQF matches the line before the read");
      // After a host clock step, events the step jumped over are found only
      // when C is read (the timer was armed by the old wall time), without
      // IRQF: a known limitation (see the fuzz README), so not checked then.
      if (!clock_stepped_) {
        FUZZ_CHECK(((value & kRegCIrqf) != 0) == ((value & reg_b_ & kInterruptSources) != 0),
                   "IRQF is set exactly when an enabled flag is");
      }
      FUZZ_CHECK(!(value & kRegCIrqf) || (value & reg_b_ & kInterruptSources), "IRQF needs an enabled flag");
      clock_stepped_ = false;
      FUZZ_CHECK(!irq_->level(), "reading C lowers the line");
      FUZZ_CHECK(port_read(1) == 0, "reading C clears it");
    } else if (reg == kRegD) {
      FUZZ_CHECK(value == kRegDVrt, "register D reads VRT");
    } else if (reg == kRegA) {
      FUZZ_CHECK((value & 0x7F) == (reg_a_ & 0x7F), "register A reads back");
      FUZZ_CHECK(!(value & kRegAUip) || running(), "UIP only while the clock runs");
    } else if (reg == kRegB) {
      FUZZ_CHECK(value == reg_b_, "register B reads back");
    } else if (is_clock(reg)) {
      if (running()) {
        check_clock_byte(reg, value);
      } else if (frozen_[slot(reg)]) {
        FUZZ_CHECK(value == *frozen_[slot(reg)], "a stopped clock's bytes read back as written");
      }
    } else if (nvram_[reg]) {
      FUZZ_CHECK(value == *nvram_[reg], "NVRAM and alarm bytes read back");
    }
    return value;
  }
  void write_reg(uint8_t reg, uint8_t value) {
    select(reg);
    checked_write(value);
  }
  void checked_write(uint8_t value) {
    const uint8_t reg = index_;
    const bool was_running = running();
    if (reg == kRegA) {
      reg_a_ = value & 0x7F;
    } else if (reg == kRegB) {
      reg_b_ = (value & kRegBSet) ? static_cast<uint8_t>(value & ~kRegBUie) : value;
    } else if (is_clock(reg)) {
      if (!was_running) frozen_[slot(reg)] = value;
    } else if (reg != kRegC && reg != kRegD) {
      nvram_[reg] = value;
    }
    port_write(1, value);
    if (was_running != running()) frozen_ = {};  // the bytes now come from (or went to) the running clock
  }

  void run(FuzzInput& op) {
    const uint8_t kind = op.u8();
    switch (kind % 11) {
      case 0: {  // index port, NMI bit and all
        select(op.u8());
        break;
      }
      case 1: checked_read(); break;
      case 2: checked_write(op.u8()); break;
      case 3: {  // raw access at any width (each byte is its own port access)
        const uint8_t offset = op.u8() % 2;
        const size_t width = size_t{1} << (op.u8() % 4);
        if (offset + width > 2) {
          std::array<std::byte, 8> bytes{};
          rtc_.read(offset, std::span(bytes).first(width));
          for (size_t i = 2 - offset; i < width; ++i) FUZZ_CHECK(bytes[i] == std::byte{0xFF}, "past the ports reads 0xFF");
        } else if (offset == 1) {
          checked_read();
        } else {
          FUZZ_CHECK(port_read(0) == 0xFF, "the index port reads 0xFF");
        }
        break;
      }
      case 4: write_reg(kRegA, op.flag() ? kRegAPowerOn | (op.u8() & 0x0F) : op.u8()); break;
      case 5: write_reg(kRegB, op.u8()); break;
      case 6: read_reg(kRegC); break;
      case 7: set_time(op); break;
      case 8: {  // time passes: nanoseconds to days
        const uint8_t scale = op.u8() % 4;
        const uint64_t amount = op.u16();
        static constexpr std::array<int64_t, 4> kUnit{1, 1'000, 1'000'000, 10'000'000'000};
        clock_.advance(std::chrono::nanoseconds(amount * kUnit[scale]));
        break;
      }
      case 9: {  // the host clock steps (NTP), either way
        const int64_t step = static_cast<int32_t>(op.u32());
        clock_.set_realtime(std::chrono::seconds(1'700'000'000 + step));  // 1833..2037
        clock_stepped_ = true;
        break;
      }
      default: {  // alarms, NVRAM, the century
        static constexpr std::array<uint8_t, 6> kPlaces{kSecondsAlarm, kMinutesAlarm, kHoursAlarm, kCentury,
                                                        kPs2Century, 0x40};
        const uint8_t reg = op.flag() ? kPlaces[op.u8() % kPlaces.size()] : (op.u8() & kIndexMask);
        write_reg(reg, op.u8());
        break;
      }
    }
  }

  // SET, the clock bytes (valid in the current format, or raw), SET off;
  // a valid time reads back unchanged at the same instant.
  void set_time(FuzzInput& op) {
    const uint8_t how = op.u8();
    write_reg(kRegB, static_cast<uint8_t>(reg_b_ | kRegBSet));
    const Format f = format();
    Clock c;
    if (how & 1) {
      for (auto& byte : c.raw) byte = op.u8();
    } else {
      const int century = 19 + op.u8() % 3, year = op.u8() % 100, month = 1 + op.u8() % 12;
      const int day = 1 + op.u8() % days_in_month(month, century * 100 + year);
      c.raw = {encode(op.u8() % 60, f), encode(op.u8() % 60, f), encode_hour(op.u8() % 24, f), encode(1, f),
               encode(day, f), encode(month, f), encode(year, f), encode(century, f)};
    }
    for (size_t i = 0; i < kClockBytes.size(); ++i) write_reg(kClockBytes[i], c.raw[i]);
    write_reg(kRegB, static_cast<uint8_t>(reg_b_ & ~kRegBSet));
    if (running() && c.valid(f, false)) {
      for (size_t i = 0; i < kClockBytes.size(); ++i) {
        if (kClockBytes[i] == kDayOfWeek) continue;  // derived from the date
        FUZZ_CHECK(read_reg(kClockBytes[i]) == c.raw[i], "a valid time set under SET reads back");
      }
    }
  }

  // All clock bytes at one instant form a valid date in the current format.
  void check_clock() {
    if (!running()) return;
    Clock c;
    for (size_t i = 0; i < kClockBytes.size(); ++i) c.raw[i] = read_reg(kClockBytes[i]);
    FUZZ_CHECK(c.valid(format(), true), "a running clock reads a valid date in the current format");
  }

 private:
  static bool is_clock(uint8_t reg) {
    return reg == kSeconds || reg == kMinutes || reg == kHours || reg == kDayOfWeek || reg == kDayOfMonth ||
           reg == kMonth || reg == kYear || reg == kCentury || reg == kPs2Century;
  }
  static size_t slot(uint8_t reg) {
    if (reg == kPs2Century) reg = kCentury;
    for (size_t i = 0; i < kClockBytes.size(); ++i) {
      if (kClockBytes[i] == reg) return i;
    }
    return 0;
  }
  void check_clock_byte(uint8_t reg, uint8_t value) {
    const Format f = format();
    if (reg == kHours) {
      FUZZ_CHECK(decode_hour(value, f).has_value(), "a running clock's hour is valid");
      return;
    }
    const auto v = decode(value, f);
    // A binary century may be anything up to 255 (a guest may write years
    // up to 25599; past 25599 it wraps like the BCD one does at 9999).
    const bool century = reg == kCentury || reg == kPs2Century;
    FUZZ_CHECK(v.has_value() && (*v <= 99 || century), "a running clock's bytes are valid in the current format");
  }
  Format format() const { return Format{(reg_b_ & kRegBBinary) != 0, (reg_b_ & kRegB24Hour) != 0}; }
  bool running() const { return (reg_a_ & kRegADividerMask) <= kRegADivider32k && !(reg_b_ & kRegBSet); }

  std::shared_ptr<keel::testing::FakeIrqLine> irq_ = std::make_shared<keel::testing::FakeIrqLine>();
  keel::testing::FakeClock clock_;
  keel::devices::CmosRtc rtc_;
  uint8_t index_ = 0;
  // Set by a host clock step, cleared by the next C read: see the C check.
  bool clock_stepped_ = false;
  uint8_t reg_a_ = kRegAPowerOn;
  uint8_t reg_b_ = kRegBPowerOn;
  std::array<std::optional<uint8_t>, 8> frozen_{};
  std::array<std::optional<uint8_t>, kCmosSize> nvram_{};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * kOpBytes));

  Harness harness;
  harness.check_clock();
  while (!script.empty()) {
    FuzzInput op(script.bytes(kOpBytes));
    harness.run(op);
    if (op.flag()) harness.check_clock();
  }
  harness.check_clock();
  return 0;
}
