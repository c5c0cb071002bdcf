// MC146818A model. The clock is not a counter that keel increments: the
// guest's time is the host's CLOCK_REALTIME plus an offset, so it costs
// nothing while nobody looks and never drifts from the host. Registers are
// computed from it when read. Interrupt flags are accounted for lazily:
// "what happened between the last accounting and now" is worked out on every
// register C read and before every change to the clock registers, and a
// timer is armed only for the next event of a source the guest has enabled.
#include "devices/rtc/cmos_rtc.h"

#include <algorithm>
#include <array>
#include <optional>

#include "devices/rtc/rtc_calendar.h"
#include "devices/rtc/rtc_guest_time.h"
#include "devices/rtc/rtc_registers.h"
#include "keel/config_error.h"

namespace keel::devices {

using namespace rtc;

namespace {

// UIP is high for the 244 us (8 divider ticks) before each update (datasheet
// t_BUC; QEMU uses the same window).
constexpr int64_t kUipWindowNanos = 8 * kNanosPerSecond / kDividerHz;
// When the divider leaves reset, the first update comes half a second later.
constexpr GuestTime kHalfSecond{0, kNanosPerSecond / 2};
constexpr int64_t kSecondsPerDay = 86'400;

// One reading of both host clocks, taken once per device operation so every
// decision in it sees the same instant.
struct Instant {
  GuestTime realtime;
  std::chrono::nanoseconds monotonic;
};

Instant sample(const Clock& clock) noexcept {
  return Instant{GuestTime::from_nanos(clock.realtime().count()), clock.monotonic()};
}

bool is_time_register(uint8_t index) noexcept {
  switch (index) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kDayOfWeek:
    case kDayOfMonth:
    case kMonth:
    case kYear:
    case kCentury:
      return true;
    default:
      return false;
  }
}

// An alarm byte matches when it is "don't care" (both top bits set) or equal
// to the clock byte in the current format, as the datasheet compares them.
bool alarm_byte_matches(uint8_t alarm, uint8_t clock_byte) noexcept {
  return (alarm & kAlarmDontCare) == kAlarmDontCare || alarm == clock_byte;
}

}  // namespace

struct CmosRtc::State {
  explicit State(IrqLine& irq_line) : irq(irq_line) {}

  IrqLine& irq;
  Timer* timer = nullptr;  // owned by CmosRtc; set once created
  std::function<void()> on_alarm;  // set_alarm_listener
  // Registers and NVRAM. The clock bytes here are meaningful only while the
  // clock is frozen (SET or divider stopped); otherwise they are computed.
  std::array<uint8_t, kCmosSize> cmos{};
  uint8_t index = 0;
  bool nmi_disabled = false;  // bit 7 of the index port: kept, but keel has no NMI source to gate
  GuestTime offset{};         // guest time = host realtime + offset
  GuestTime accounted_until{};  // guest time up to which PF/AF/UF have been worked out

  // --- derived state ---
  RegisterFormat format() const noexcept {
    return RegisterFormat{(cmos[kRegB] & kRegBBinary) != 0, (cmos[kRegB] & kRegB24Hour) != 0};
  }
  // Divider values 000-010 keep the chain counting (QEMU treats them alike);
  // 011-101 are test modes and 11x is reset: the clock stands still.
  bool divider_running() const noexcept { return (cmos[kRegA] & kRegADividerMask) <= kRegADivider32k; }
  bool clock_running() const noexcept { return divider_running() && (cmos[kRegB] & kRegBSet) == 0; }
  // Periodic period in divider ticks, 0 when off. RS 1 and 2 are 256 Hz and
  // 128 Hz (the datasheet's table for a 32.768 kHz base), RS >= 3 gives
  // 32768 >> (RS - 1) Hz.
  int64_t periodic_ticks() const noexcept {
    if (!divider_running()) return 0;
    const int rate = cmos[kRegA] & kRegARateMask;
    if (rate == 0) return 0;
    if (rate <= 2) return int64_t{1} << (rate + 6);
    return int64_t{1} << (rate - 1);
  }
  GuestTime guest_time(const Instant& now) const noexcept { return now.realtime + offset; }

  // --- clock registers ---
  TimeRegisters frozen_registers() const noexcept {
    return TimeRegisters{cmos[kSeconds],    cmos[kMinutes], cmos[kHours], cmos[kDayOfWeek],
                         cmos[kDayOfMonth], cmos[kMonth],   cmos[kYear],  cmos[kCentury]};
  }
  void store_registers(const TimeRegisters& regs) noexcept {
    cmos[kSeconds] = regs.seconds;
    cmos[kMinutes] = regs.minutes;
    cmos[kHours] = regs.hours;
    cmos[kDayOfWeek] = regs.day_of_week;
    cmos[kDayOfMonth] = regs.day_of_month;
    cmos[kMonth] = regs.month;
    cmos[kYear] = regs.year;
    cmos[kCentury] = regs.century;
  }
  // Copy the running clock into the bytes, so that freezing it (or writing a
  // single field) starts from the current time.
  void freeze_registers(const Instant& now) noexcept {
    store_registers(registers_from_seconds(guest_time(now).seconds, format()));
  }
  // Restart the clock from the bytes, with the given fraction of a second
  // already elapsed.
  void start_from_registers(const Instant& now, int64_t nanos_into_second) noexcept {
    const GuestTime start{seconds_from_registers(frozen_registers(), format()), nanos_into_second};
    offset = start - now.realtime;
    accounted_until = start;
  }
  uint8_t read_time_register(uint8_t reg, const Instant& now) const noexcept {
    if (!clock_running()) return cmos[reg];
    const TimeRegisters regs = registers_from_seconds(guest_time(now).seconds, format());
    switch (reg) {
      case kSeconds: return regs.seconds;
      case kMinutes: return regs.minutes;
      case kHours: return regs.hours;
      case kDayOfWeek: return regs.day_of_week;
      case kDayOfMonth: return regs.day_of_month;
      case kMonth: return regs.month;
      case kYear: return regs.year;
      default: return regs.century;
    }
  }
  bool update_in_progress(const Instant& now) const noexcept {
    return clock_running() && guest_time(now).nanos >= kNanosPerSecond - kUipWindowNanos;
  }

  // --- alarm ---
  // The first second in [first, last] whose clock bytes match the alarm.
  // The alarm depends only on the time of day, so one day's worth of seconds
  // is enough; hours and minutes that cannot match are skipped whole, which
  // keeps this to a few thousand steps whatever the guest wrote.
  std::optional<int64_t> first_alarm_match(int64_t first, int64_t last) const noexcept {
    const RegisterFormat fmt = format();
    std::array<bool, 24> hour_ok{};
    std::array<bool, 60> minute_ok{};
    std::array<bool, 60> second_ok{};
    for (int v = 0; v < 60; ++v) {
      if (v < 24) hour_ok[v] = alarm_byte_matches(cmos[kHoursAlarm], encode_hour(v, fmt));
      minute_ok[v] = alarm_byte_matches(cmos[kMinutesAlarm], encode_field(v, fmt));
      second_ok[v] = alarm_byte_matches(cmos[kSecondsAlarm], encode_field(v, fmt));
    }
    const auto none = [](const auto& table) { return std::ranges::find(table, true) == table.end(); };
    if (none(hour_ok) || none(minute_ok) || none(second_ok)) return std::nullopt;  // e.g. hour 0x25
    last = std::min(last, first + kSecondsPerDay - 1);
    for (int64_t s = first; s <= last;) {
      const int64_t second_of_day = floor_mod(s, kSecondsPerDay);
      const auto second = static_cast<int>(second_of_day % 60);
      if (!hour_ok[static_cast<std::size_t>(second_of_day / 3600)]) {
        s += 3600 - second_of_day % 3600;
      } else if (!minute_ok[static_cast<std::size_t>(second_of_day / 60 % 60)]) {
        s += 60 - second;
      } else {
        int match = second;
        while (match < 60 && !second_ok[static_cast<std::size_t>(match)]) ++match;
        if (match == 60) {
          s += 60 - second;  // none left in this minute
        } else {
          s += match - second;
          return s <= last ? std::optional<int64_t>(s) : std::nullopt;
        }
      }
    }
    return std::nullopt;
  }

  // --- interrupts ---
  // Set the flags for every event in (accounted_until, now]. Callers account
  // before changing anything that shapes events, so the whole span ran under
  // the current configuration.
  void account_events(const Instant& now) noexcept {
    const GuestTime g = guest_time(now);
    if (g <= accounted_until) {
      // No time passed, or the host clock stepped back: nothing happened.
      accounted_until = g;
      return;
    }
    if (const int64_t period = periodic_ticks(); period != 0) {
      if (floor_div(divider_ticks(g), period) > floor_div(divider_ticks(accounted_until), period)) {
        cmos[kRegC] |= kRegCPf;
      }
    }
    if (clock_running() && g.seconds > accounted_until.seconds) {
      // Update cycles ended at each second boundary in the span.
      cmos[kRegC] |= kRegCUf;
      if (first_alarm_match(accounted_until.seconds + 1, g.seconds)) cmos[kRegC] |= kRegCAf;
    }
    accounted_until = g;
  }
  // IRQF = (PF and PIE) or (AF and AIE) or (UF and UIE). The line follows
  // IRQF: raised when it sets, lowered when it clears (register C read, or
  // the guest disabling the source), which gives ISA edges on each event.
  void update_irq() noexcept {
    const bool pending = (cmos[kRegC] & cmos[kRegB] & kInterruptSources) != 0;
    const bool asserted = (cmos[kRegC] & kRegCIrqf) != 0;
    if (pending && !asserted) {
      cmos[kRegC] |= kRegCIrqf;
      irq.set_level(true);
      if ((cmos[kRegC] & cmos[kRegB] & kRegCAf) != 0 && on_alarm) on_alarm();
    } else if (!pending && asserted) {
      cmos[kRegC] &= static_cast<uint8_t>(~kRegCIrqf);
      irq.set_level(false);
    }
  }
  // Arm the timer for the next event of an enabled source. While IRQF is set
  // no new event can produce an edge, and the flags are caught up when
  // register C is read, so the timer sleeps until then.
  void rearm(const Instant& now) noexcept {
    if (timer == nullptr) return;
    const GuestTime g = guest_time(now);
    std::optional<GuestTime> next;
    const auto consider = [&next](GuestTime t) {
      if (!next || t < *next) next = t;
    };
    if ((cmos[kRegC] & kRegCIrqf) == 0) {
      const int64_t period = periodic_ticks();
      if ((cmos[kRegB] & kRegBPie) != 0 && period != 0) {
        // Next multiple of the period: phase-locked to the divider, no drift.
        consider(time_of_tick((floor_div(divider_ticks(g), period) + 1) * period));
      }
      if (clock_running()) {
        if ((cmos[kRegB] & kRegBUie) != 0) {
          consider(GuestTime{g.seconds + 1, 0});
        } else if ((cmos[kRegB] & kRegBAie) != 0) {
          if (auto match = first_alarm_match(g.seconds + 1, g.seconds + kSecondsPerDay)) {
            consider(GuestTime{*match, 0});
          }
        }
      }
    }
    if (next) {
      timer->arm(now.monotonic + std::chrono::nanoseconds(nanos_between(g, *next)));
    } else {
      timer->disarm();
    }
  }

  // --- register access ---
  uint8_t read_register(uint8_t reg, const Instant& now) noexcept {
    if (reg == kPs2Century) reg = kCentury;
    if (is_time_register(reg)) return read_time_register(reg, now);
    switch (reg) {
      case kRegA:
        return static_cast<uint8_t>(cmos[kRegA] | (update_in_progress(now) ? kRegAUip : 0));
      case kRegC: {
        account_events(now);
        const uint8_t value = cmos[kRegC];
        cmos[kRegC] = 0;
        if ((value & kRegCIrqf) != 0) irq.set_level(false);
        rearm(now);
        return value;
      }
      case kRegD:
        return kRegDVrt;  // the battery is always good
      default:
        return cmos[reg];
    }
  }

  void write_register(uint8_t reg, uint8_t value, const Instant& now) noexcept {
    if (reg == kPs2Century) reg = kCentury;
    if (reg >= kFirstNvram && reg != kCentury) {
      cmos[reg] = value;
      return;
    }
    account_events(now);
    if (is_time_register(reg)) {
      write_time_register(reg, value, now);
    } else if (reg == kRegA) {
      write_register_a(value, now);
    } else if (reg == kRegB) {
      write_register_b(value, now);
    } else if (reg == kSecondsAlarm || reg == kMinutesAlarm || reg == kHoursAlarm) {
      cmos[reg] = value;
    }
    // Registers C and D are read-only.
    update_irq();
    rearm(now);
  }

  void write_time_register(uint8_t reg, uint8_t value, const Instant& now) noexcept {
    if (!clock_running()) {
      cmos[reg] = value;  // takes effect when SET clears or the divider restarts
      return;
    }
    // On the chip the clock bytes are plain counters a write replaces; the
    // divider keeps its phase. QEMU likewise applies such writes at once.
    const int64_t nanos_into_second = guest_time(now).nanos;
    freeze_registers(now);
    cmos[reg] = value;
    start_from_registers(now, nanos_into_second);
  }

  void write_register_a(uint8_t value, const Instant& now) noexcept {
    const bool was_running = clock_running();
    const bool divider_was_running = divider_running();
    if (was_running) freeze_registers(now);
    cmos[kRegA] = static_cast<uint8_t>(value & ~kRegAUip);  // UIP is read-only
    if (!divider_was_running && divider_running()) {
      // Leaving divider reset: the first update is half a second away. If
      // SET is still up this only fixes the phase; the seconds are read from
      // the bytes again when SET clears.
      start_from_registers(now, kHalfSecond.nanos);
    }
  }

  void write_register_b(uint8_t value, const Instant& now) noexcept {
    const bool was_running = clock_running();
    if ((value & kRegBSet) != 0) {
      value &= static_cast<uint8_t>(~kRegBUie);  // the datasheet: SET clears UIE
    }
    if (was_running) freeze_registers(now);
    cmos[kRegB] = value;
    if (!was_running && clock_running()) {
      // SET cleared: the guest's new time starts now, and the divider,
      // which ran on during SET, keeps its sub-second phase (as QEMU).
      start_from_registers(now, guest_time(now).nanos);
    }
  }

  void fill_checksum() noexcept {
    unsigned sum = 0;
    for (unsigned i = kChecksumFirst; i <= kChecksumLast; ++i) sum += cmos[i];
    cmos[kChecksumHigh] = static_cast<uint8_t>(sum >> 8);
    cmos[kChecksumLow] = static_cast<uint8_t>(sum);
  }
};

CmosRtc::CmosRtc(std::shared_ptr<IrqLine> irq, const Clock& clock, TimerFactory& timers)
    : irq_(std::move(irq)), clock_(clock) {
  if (!irq_) throw ConfigError("CMOS RTC: no interrupt line given for IRQ 8");
  state_ = std::make_unique<State>(*irq_);
  State& s = *state_;
  s.cmos[kRegA] = kRegAPowerOn;
  s.cmos[kRegB] = kRegBPowerOn;
  s.cmos[kRegC] = 0;
  s.cmos[kRegD] = kRegDVrt;
  s.cmos[kFloppyTypes] = 0;  // no floppy drives
  s.cmos[kEquipment] = kEquipmentFpuAndPs2Mouse;
  const Instant now = sample(clock_);
  s.offset = GuestTime{};  // power-on time is the host's
  s.accounted_until = s.guest_time(now);
  s.freeze_registers(now);  // so the bytes hold a sane date if the guest stops the clock
  s.fill_checksum();
  // The callback runs on the event-loop thread, concurrently with vCPU
  // accesses: it takes the device lock like they do.
  timer_ = timers.create_timer([this] {
    std::lock_guard guard(lock_);
    const Instant now = sample(clock_);
    state_->account_events(now);
    state_->update_irq();
    state_->rearm(now);
  });
  state_->timer = timer_.get();
}

CmosRtc::~CmosRtc() {
  // Destroy the timer first: after that its callback can't run, so the
  // state it touches may go.
  timer_.reset();
}

void CmosRtc::reset() noexcept {
  std::lock_guard guard(lock_);
  State& s = *state_;
  const Instant now = sample(clock_);
  // Events up to now happened before the reset: account them, then drop them.
  s.account_events(now);
  s.cmos[kRegB] &= static_cast<uint8_t>(~(kRegBPie | kRegBAie | kRegBUie | kRegBSqwe));
  s.cmos[kRegC] &= static_cast<uint8_t>(~(kRegCIrqf | kRegCPf | kRegCAf | kRegCUf));
  s.irq.set_level(false);
  s.rearm(now);  // no source is enabled now: disarms
}

void CmosRtc::set_alarm_listener(std::function<void()> listener) {
  std::lock_guard guard(lock_);
  state_->on_alarm = std::move(listener);
}

void CmosRtc::set_memory_size(uint64_t low_ram_bytes, uint64_t high_ram_bytes) noexcept {
  constexpr uint64_t kKiB = 1024;
  constexpr uint64_t kMiB = 1024 * kKiB;
  constexpr uint64_t kMax16 = 0xffff;
  std::lock_guard guard(lock_);
  auto& cmos = state_->cmos;
  const uint64_t base_kib = std::min<uint64_t>(low_ram_bytes / kKiB, 640);
  const uint64_t extended_kib = low_ram_bytes > kMiB ? std::min((low_ram_bytes - kMiB) / kKiB, kMax16) : 0;
  const uint64_t above_16m =
      low_ram_bytes > 16 * kMiB ? std::min((low_ram_bytes - 16 * kMiB) / (64 * kKiB), kMax16) : 0;
  const uint64_t above_4g = std::min<uint64_t>(high_ram_bytes / (64 * kKiB), 0xff'ffff);
  cmos[kBaseMemoryLow] = static_cast<uint8_t>(base_kib);
  cmos[kBaseMemoryHigh] = static_cast<uint8_t>(base_kib >> 8);
  cmos[kExtendedMemoryLow] = static_cast<uint8_t>(extended_kib);
  cmos[kExtendedMemoryHigh] = static_cast<uint8_t>(extended_kib >> 8);
  cmos[kExtendedMemoryCopyLow] = static_cast<uint8_t>(extended_kib);
  cmos[kExtendedMemoryCopyHigh] = static_cast<uint8_t>(extended_kib >> 8);
  cmos[kMemoryAbove16MLow] = static_cast<uint8_t>(above_16m);
  cmos[kMemoryAbove16MHigh] = static_cast<uint8_t>(above_16m >> 8);
  cmos[kMemoryAbove4GLow] = static_cast<uint8_t>(above_4g);
  cmos[kMemoryAbove4GMid] = static_cast<uint8_t>(above_4g >> 8);
  cmos[kMemoryAbove4GHigh] = static_cast<uint8_t>(above_4g >> 16);
  state_->fill_checksum();
}

// Byte by byte: a 16-bit access at 0x70 selects the index with its low byte
// and then reads or writes 0x71 with its high byte, as on ISA.
void CmosRtc::read(uint64_t offset, std::span<std::byte> data) noexcept {
  std::lock_guard guard(lock_);
  const Instant now = sample(clock_);
  State& s = *state_;
  for (std::size_t i = 0; i < data.size(); ++i) {
    // The index port is write-only and reads float high (QEMU returns 0xff),
    // as do bytes past the data port.
    uint8_t value = 0xff;
    if (offset < kPortCount && i < kPortCount && offset + i == 1) value = s.read_register(s.index, now);
    data[i] = std::byte{value};
  }
}

void CmosRtc::write(uint64_t offset, std::span<const std::byte> data) noexcept {
  std::lock_guard guard(lock_);
  const Instant now = sample(clock_);
  State& s = *state_;
  for (std::size_t i = 0; i < data.size() && offset < kPortCount && i < kPortCount - offset; ++i) {
    const auto value = static_cast<uint8_t>(data[i]);
    if (offset + i == 0) {
      s.index = value & kIndexMask;
      s.nmi_disabled = (value & kNmiDisable) != 0;
    } else {
      s.write_register(s.index, value, now);
    }
  }
}

}  // namespace keel::devices
