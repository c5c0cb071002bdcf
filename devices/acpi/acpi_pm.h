// ACPI fixed-hardware power management, PIIX4-style, at I/O 0x600 (layout in
// pm_registers.h): PM1 status/enable, PM1 control and the 24-bit 3.579545 MHz
// PM timer, with the SCI on IRQ 9.
//  - PM1_STS: TMR_STS (bit 23 of the timer changed), PWRBTN_STS
//    (press_power_button()), WAK_STS; write 1 to clear.
//  - PM1_EN: TMR_EN, PWRBTN_EN raise the SCI for their status bits; GBL_EN,
//    SLPBTN_EN, RTC_EN and PCIEXP_WAKE_DIS are kept and read back (Linux
//    checks that an enable bit sticks) but their events never happen.
//  - PM1_CNT: SCI_EN always reads 1 (no SMI_CMD: the platform is always in
//    ACPI mode); SLP_EN with SLP_TYP == kS5SleepType powers off
//    (VmControl guest_poweroff, status 0); with SLP_TYP == kS3SleepType it
//    calls the machine's suspend handler (S3, suspend to RAM), and the
//    machine later calls wake() (see "S3" below).
//  - PM_TMR: read-only, follows the host's monotonic clock exactly.
// The SCI line's level is (PM1_STS & PM1_EN & (TMR | PWRBTN | RTC)) != 0.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "devices/acpi/pm_registers.h"
#include "keel/bus_device.h"
#include "keel/clock.h"
#include "keel/irq_line.h"
#include "keel/resettable.h"
#include "keel/vm_control.h"

namespace keel::devices {

class AcpiPm final : public BusDevice, public Resettable {
 public:
  static constexpr uint16_t kBasePort = acpi_pm::kBasePort;
  static constexpr uint64_t kPortCount = acpi_pm::kPortCount;
  static constexpr uint32_t kSciIrq = acpi_pm::kSciIrq;

  // `sci` drives IRQ 9; the timer counts from 0 at construction. Throws
  // ConfigError if `sci` is null.
  AcpiPm(std::shared_ptr<IrqLine> sci, VmControl& vm, const Clock& clock, TimerFactory& timers);
  ~AcpiPm() override;
  AcpiPm(const AcpiPm&) = delete;
  AcpiPm& operator=(const AcpiPm&) = delete;

  // The fixed-feature power button (the FADT does not set PWR_BUTTON, so the
  // guest finds one): sets PWRBTN_STS and raises the SCI if the guest has
  // set PWRBTN_EN. Returns whether it had, i.e. whether an ACPI-aware guest
  // will see the press (a host asking for shutdown can fall back otherwise).
  bool press_power_button() noexcept;

  // S3 (suspend to RAM). The guest enters it by writing SLP_EN with
  // SLP_TYP = kS3SleepType; the handler is then called exactly once per
  // such write, on the writing vCPU's thread, with no device lock held. The
  // machine stops every vCPU there with RAM kept. Without a handler (the
  // default) the request is logged (rate-limited) and WAK_STS is set at
  // once, so the guest goes on as if it had slept for no time.
  using SuspendHandler = std::function<void()>;
  // Start-up (may allocate); an empty handler removes it.
  void set_suspend_handler(SuspendHandler handler);

  // What woke a sleeping machine (QEMU's WakeupReason for the pc machine).
  enum class WakeSource : uint8_t {
    power_button,  // always wakes, whatever PWRBTN_EN (ACPI 6.3 4.8.3.1.1, PWRBTN_STS)
    rtc_alarm,     // only with PM1_EN.RTC_EN set (same table, RTC_STS)
    other,         // QMP system_wakeup, a key press: always
  };
  // Whether `source` may wake the machine now: call it when the event
  // happens, before the machine resets anything (RTC_EN is a guest setting).
  bool wake_armed(WakeSource source) noexcept;
  // Marks the wake in PM1_STS: WAK_STS, plus RTC_STS for the RTC alarm and
  // PWRBTN_STS for the power button and for `other` (QEMU also reports an
  // unattributed wake as the power button, so guests see the same status on
  // both). Call it after the machine has reset the devices and before the
  // vCPUs run the FACS waking vector; the SCI follows PM1_EN as always.
  void wake(WakeSource source) noexcept;

  // Machine reset (QEMU's acpi_pm1_evt/cnt/tmr resets): PM1_STS, PM1_EN
  // and PM1_CNT to 0, SCI low, timer interrupt disarmed; PM_TMR keeps
  // counting. The suspend handler stays installed.
  void reset() noexcept override;

  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;

 private:
  // Everything below is guarded by lock_.
  uint64_t ticks_now() const noexcept;
  void account_timer(uint64_t ticks) noexcept;
  void update_sci() noexcept;
  void rearm_timer(uint64_t ticks) noexcept;
  // What a PM1_CNT write asked the machine to do (outside the lock).
  enum class SleepAction : uint8_t { none, power_off, suspend };
  // Applies a write to PM1_CNT.
  SleepAction write_control(uint16_t value) noexcept;

  std::shared_ptr<IrqLine> sci_;
  VmControl& vm_;
  const Clock& clock_;
  std::mutex lock_;
  std::chrono::nanoseconds start_;  // monotonic time at which the counter was 0
  uint64_t accounted_ticks_ = 0;    // ticks up to which TMR_STS has been worked out
  uint16_t status_ = 0;
  uint16_t enable_ = 0;
  uint16_t control_ = 0;            // stored bits only: SCI_EN and SLP_EN are not kept
  bool sci_level_ = false;
  std::optional<uint64_t> armed_tick_;  // the tick timer_ is armed for, if any
  unsigned sleep_request_logs_ = 0;
  // Shared, so the write path takes a reference without allocating.
  std::shared_ptr<const SuspendHandler> suspend_handler_;
  std::unique_ptr<Timer> timer_;
};

}  // namespace keel::devices
