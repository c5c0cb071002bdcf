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
//    (VmControl guest_poweroff, status 0).
//  - PM_TMR: read-only, follows the host's monotonic clock exactly.
// The SCI line's level is (PM1_STS & PM1_EN & (TMR | PWRBTN)) != 0.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "devices/acpi/pm_registers.h"
#include "keel/bus_device.h"
#include "keel/clock.h"
#include "keel/irq_line.h"
#include "keel/vm_control.h"

namespace keel::devices {

class AcpiPm final : public BusDevice {
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

  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;

 private:
  // Everything below is guarded by lock_.
  uint64_t ticks_now() const noexcept;
  void account_timer(uint64_t ticks) noexcept;
  void update_sci() noexcept;
  void rearm_timer(uint64_t ticks) noexcept;
  // Applies a write to PM1_CNT; returns whether it asked for soft-off.
  bool write_control(uint16_t value) noexcept;

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
  std::unique_ptr<Timer> timer_;
};

}  // namespace keel::devices
