// ACPI PM1 event/control registers and PM timer (ACPI 6.3 section 4.8.3),
// modelled on the PIIX4 power-management function as QEMU's pc machine has
// it. Like the CMOS RTC, the timer is not a counter keel increments: its
// value is computed from the host's monotonic clock whenever it is read, and
// TMR_STS is worked out lazily ("did bit 23 change since we last looked?")
// on every access. A host timer runs only while the guest has TMR_EN set and
// TMR_STS clear, to raise the SCI at the next bit-23 change.
#include "devices/acpi/acpi_pm.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <limits>

#include "devices/acpi/pm_timer.h"
#include "keel/config_error.h"

namespace keel::devices {

using namespace acpi_pm;

namespace {

// The status bits whose enable bit raises the SCI (as QEMU's PIIX4 PM).
// RTC_STS is only ever set by an RTC-alarm wake: a running guest learns of
// the alarm through the RTC's own IRQ 8.
constexpr uint16_t kSciEvents = kTmrSts | kPwrbtnSts | kRtcSts;
// PM1_EN bits that exist on the chip and read back as written.
constexpr uint16_t kEnableBits = kTmrEn | kGblEn | kPwrbtnEn | kSlpbtnEn | kRtcEn | kPciexpWakeDis;
// PM1_CNT bits kept as written. SCI_EN is forced to 1, SLP_EN and GBL_RLS
// are write-only (they act, then read 0), the rest is reserved and reads 0.
constexpr uint16_t kControlStoredBits = kBmRld | kPm1CntIgnored | kSlpTypMask;

// A guest asking for a sleep state keel does not declare is worth a warning,
// but it could ask in a loop.
constexpr unsigned kMaxSleepRequestLogs = 4;

constexpr std::byte kUndecoded{0xff};

void put_u16(std::span<uint8_t> regs, uint64_t at, uint16_t value) noexcept {
  regs[at] = static_cast<uint8_t>(value);
  regs[at + 1] = static_cast<uint8_t>(value >> 8);
}

void put_u32(std::span<uint8_t> regs, uint64_t at, uint32_t value) noexcept {
  for (unsigned i = 0; i < 4; ++i) regs[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

// One 16-bit register as seen by a write of any width: the bits written and
// which bits the write covered (a byte access covers half a register).
struct RegisterWrite {
  uint16_t value = 0;
  uint16_t mask = 0;
};

RegisterWrite register_write(std::span<const uint8_t> bytes, std::span<const uint8_t> covered, uint64_t at) noexcept {
  return RegisterWrite{static_cast<uint16_t>(bytes[at] | (bytes[at + 1] << 8)),
                       static_cast<uint16_t>(covered[at] | (covered[at + 1] << 8))};
}

std::chrono::nanoseconds saturating_add(std::chrono::nanoseconds a, std::chrono::nanoseconds b) noexcept {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (b.count() > 0 && a.count() > kMax - b.count()) return std::chrono::nanoseconds(kMax);
  if (b.count() < 0 && a.count() < kMin - b.count()) return std::chrono::nanoseconds(kMin);
  return a + b;
}

}  // namespace

AcpiPm::AcpiPm(std::shared_ptr<IrqLine> sci, VmControl& vm, const Clock& clock, TimerFactory& timers)
    : sci_(std::move(sci)), vm_(vm), clock_(clock), start_(clock.monotonic()) {
  if (!sci_) throw ConfigError("ACPI PM: no interrupt line given for the SCI (IRQ 9)");
  // Runs on the event-loop thread, concurrently with vCPU accesses.
  timer_ = timers.create_timer([this] {
    std::lock_guard guard(lock_);
    armed_tick_.reset();
    const uint64_t ticks = ticks_now();
    account_timer(ticks);
    update_sci();
    rearm_timer(ticks);
  });
}

AcpiPm::~AcpiPm() {
  // Destroy the timer first: after that its callback cannot run.
  timer_.reset();
}

uint64_t AcpiPm::ticks_now() const noexcept {
  // Never behind what the guest has already seen, even if the clock were to
  // step back: the PM timer only counts up.
  return std::max(ticks_in(clock_.monotonic() - start_), accounted_ticks_);
}

void AcpiPm::account_timer(uint64_t ticks) noexcept {
  if (msb_toggled(accounted_ticks_, ticks)) status_ |= kTmrSts;
  accounted_ticks_ = ticks;
}

// The SCI is a level: high while an enabled event is pending. Only changes
// are passed on, so an access that changes nothing costs no ioctl.
void AcpiPm::update_sci() noexcept {
  const bool level = (status_ & enable_ & kSciEvents) != 0;
  if (level == sci_level_) return;
  sci_level_ = level;
  sci_->set_level(level);
}

// The timer is needed only to raise the SCI at the next bit-23 change: not
// while TMR_EN is clear, nor while TMR_STS is still set (the line is high
// already; the next change is accounted for when the guest clears it).
// Re-arming is skipped when the target tick is unchanged, so frequent
// PM_TMR reads (Linux's acpi_pm clocksource) cost no timer syscalls.
void AcpiPm::rearm_timer(uint64_t ticks) noexcept {
  std::optional<uint64_t> wanted;
  if ((enable_ & kTmrEn) != 0 && (status_ & kTmrSts) == 0) wanted = next_msb_toggle(ticks);
  if (wanted == armed_tick_) return;
  armed_tick_ = wanted;
  if (wanted) {
    timer_->arm(saturating_add(start_, time_of_tick(*wanted)));
  } else {
    timer_->disarm();
  }
}

AcpiPm::SleepAction AcpiPm::write_control(uint16_t value) noexcept {
  control_ = value & kControlStoredBits;
  // GBL_RLS would raise an SMI for firmware waiting on the global lock:
  // there is no SMI handler, so it does nothing.
  if ((value & kSlpEn) == 0) return SleepAction::none;
  const auto sleep_type = static_cast<unsigned>((value & kSlpTypMask) >> kSlpTypShift);
  if (sleep_type == kS5SleepType) return SleepAction::power_off;
  if (sleep_type == kS3SleepType && suspend_handler_) return SleepAction::suspend;
  // A state keel does not declare, or S3 before the machine has wired it: a
  // guest would wait for WAK_STS (ACPICA spins on it), so report an
  // immediate wake and let it go on instead of hanging.
  status_ |= kWakSts;
  if (sleep_request_logs_ < kMaxSleepRequestLogs) {
    ++sleep_request_logs_;
    spdlog::warn("acpi: guest asked for sleep type {}{} which keel does not support; waking it at once{}", sleep_type,
                 sleep_type == kS3SleepType ? " (S3)" : "",
                 sleep_request_logs_ == kMaxSleepRequestLogs ? " (further requests not logged)" : "");
  }
  return SleepAction::none;
}

void AcpiPm::set_suspend_handler(SuspendHandler handler) {
  std::shared_ptr<const SuspendHandler> shared;
  if (handler) shared = std::make_shared<const SuspendHandler>(std::move(handler));
  std::lock_guard guard(lock_);
  suspend_handler_ = std::move(shared);
}

bool AcpiPm::wake_armed(WakeSource source) noexcept {
  if (source != WakeSource::rtc_alarm) return true;
  std::lock_guard guard(lock_);
  return (enable_ & kRtcEn) != 0;
}

void AcpiPm::wake(WakeSource source) noexcept {
  std::lock_guard guard(lock_);
  uint16_t bits = kWakSts;
  switch (source) {
    case WakeSource::rtc_alarm: bits |= kRtcSts; break;
    case WakeSource::power_button:
    case WakeSource::other: bits |= kPwrbtnSts; break;
  }
  status_ |= bits;
  update_sci();
}

void AcpiPm::reset() noexcept {
  std::lock_guard guard(lock_);
  // Bit-23 changes up to now belong to the time before the reset.
  accounted_ticks_ = ticks_now();
  status_ = 0;
  enable_ = 0;
  control_ = 0;
  update_sci();
  rearm_timer(accounted_ticks_);  // TMR_EN is clear: disarms
}

bool AcpiPm::press_power_button() noexcept {
  std::lock_guard guard(lock_);
  status_ |= kPwrbtnSts;
  update_sci();
  return (enable_ & kPwrbtnEn) != 0;
}

// Reads are served from a snapshot of the whole block, so any width at any
// offset returns the matching little-endian bytes (a byte read of PM_TMR
// gives its low byte, as on an ISA-style decoder).
void AcpiPm::read(uint64_t offset, std::span<std::byte> data) noexcept {
  std::array<uint8_t, kPortCount> regs{};
  {
    std::lock_guard guard(lock_);
    const uint64_t ticks = ticks_now();
    account_timer(ticks);
    update_sci();
    rearm_timer(ticks);
    put_u16(regs, kPm1StatusOffset, status_);
    put_u16(regs, kPm1EnableOffset, enable_);
    put_u16(regs, kPm1ControlOffset, static_cast<uint16_t>(control_ | kSciEn));
    put_u32(regs, kPmTimerOffset, timer_value(ticks));  // bits 31:24 read 0 (TMR_VAL_EXT = 0)
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = offset < kPortCount && i < kPortCount - offset ? std::byte{regs[offset + i]} : kUndecoded;
  }
}

// A write may cover several registers or half of one: each register takes
// the bytes that fell on it. PM_TMR and the reserved word ignore writes.
void AcpiPm::write(uint64_t offset, std::span<const std::byte> data) noexcept {
  std::array<uint8_t, kPortCount> bytes{};
  std::array<uint8_t, kPortCount> covered{};
  for (std::size_t i = 0; i < data.size() && offset < kPortCount && i < kPortCount - offset; ++i) {
    bytes[offset + i] = std::to_integer<uint8_t>(data[i]);
    covered[offset + i] = 0xff;
  }
  SleepAction action = SleepAction::none;
  std::shared_ptr<const SuspendHandler> suspend;
  {
    std::lock_guard guard(lock_);
    const uint64_t ticks = ticks_now();
    // Catch TMR_STS up first, so a write clearing it clears the change that
    // has already happened rather than leaving it to appear later.
    account_timer(ticks);
    const RegisterWrite status = register_write(bytes, covered, kPm1StatusOffset);
    status_ &= static_cast<uint16_t>(~(status.value & status.mask));
    const RegisterWrite enable = register_write(bytes, covered, kPm1EnableOffset);
    enable_ = static_cast<uint16_t>((enable_ & ~enable.mask) | (enable.value & enable.mask & kEnableBits));
    const RegisterWrite control = register_write(bytes, covered, kPm1ControlOffset);
    if (control.mask != 0) {
      action = write_control(static_cast<uint16_t>((control_ & ~control.mask) | (control.value & control.mask)));
    }
    if (action == SleepAction::suspend) suspend = suspend_handler_;
    update_sci();
    rearm_timer(ticks);
  }
  // Outside the lock, like the other ports that stop the VM: the handler
  // may well come back into this device (wake()).
  if (action == SleepAction::power_off) vm_.request_stop(StopReason::guest_poweroff, 0);
  if (action == SleepAction::suspend) {
    spdlog::info("acpi: guest entered S3 (suspend to RAM)");
    (*suspend)();
  }
}

}  // namespace keel::devices
