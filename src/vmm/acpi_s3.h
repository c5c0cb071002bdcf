// ACPI S3, suspend to RAM (issue 10; devices/acpi/README.md "S3" is the
// contract): the machine's half between the guest's SLP_EN write and the
// wake.
//  - Sleep: AcpiPm's suspend handler runs on the vCPU that wrote SLP_EN and
//    must not wait there, so it only sets the pause request and kicks every
//    vCPU (MachineControl::begin_suspend); the control thread (keel's
//    console loop, which also serves QMP and runs system_reset) then waits
//    for them to park, enters the run state `suspended` and sends SUSPEND.
//  - Wake sources, only while suspended: QMP system_wakeup and key presses
//    (other), the power button (power_button), the CMOS RTC alarm
//    (rtc_alarm, only with PM1_EN.RTC_EN). Any thread may ask; the wake
//    itself runs on the control thread: devices and irqchip reset (no image
//    reload, RAM kept), PM1 WAK_STS, the BSP at the FACS waking vector (a
//    vector that cannot be entered: a plain system reset), the vCPUs
//    released, state running, event WAKEUP.
// SleepControl holds the sequencing and is unit-tested with fake hooks;
// setup_acpi_s3 gives it the machine's real ones.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

#include "devices/acpi/acpi_pm.h"
#include "keel/clock.h"
#include "keel/result.h"
#include "src/qmp/command_registry.h"
#include "src/vmm/run_state.h"

namespace keel::vmm {

struct Machine;

class SleepControl {
 public:
  using WakeSource = devices::AcpiPm::WakeSource;
  struct Hooks {
    std::function<bool()> begin_suspend;                  // vCPU thread, never blocks
    std::function<LifecycleResult()> complete_suspend;    // control thread, waits for the parks
    std::function<RunState()> run_state;
    std::function<bool(WakeSource)> wake_armed;           // AcpiPm::wake_armed
    std::function<Result<void>(WakeSource)> wake_machine; // control thread; suspended -> running
    std::function<void(std::string_view name, const qmp::Json& data)> emit;  // QMP event (may be empty)
    // Any thread, never blocks: makes the control thread call service()
    // soon. Empty: attach_timer() provides it.
    std::function<void()> schedule;
  };

  static constexpr std::string_view kNotSuspended = "Unable to wake up: guest is not in suspended state";

  explicit SleepControl(Hooks hooks);
  ~SleepControl();
  SleepControl(const SleepControl&) = delete;
  SleepControl& operator=(const SleepControl&) = delete;

  // service() on a timer of `timers`' loop (the control thread); used when
  // Hooks::schedule is empty. Start-up only.
  void attach_timer(TimerFactory& timers);

  // AcpiPm's suspend handler (the vCPU thread that wrote SLP_EN).
  void on_sleep_request() noexcept;
  // A wake event from any thread; true when it will wake the machine
  // (suspended and the source armed). The first source asked wins.
  bool request_wake(WakeSource source) noexcept;
  // On the control thread: finishes a pending suspend, then a pending wake.
  void service() noexcept;

  // QMP system_wakeup: {} while suspended (the wake follows the reply, as
  // in QEMU), else GenericError kNotSuspended.
  qmp::CommandResult system_wakeup();
  void register_commands(qmp::CommandRegistry& registry);

 private:
  void schedule() noexcept;

  Hooks hooks_;
  std::unique_ptr<Timer> timer_;
  std::atomic<bool> suspend_pending_{false};
  std::atomic<int> wake_pending_{-1};  // a WakeSource, or -1
};

// The wake itself on a suspended machine (every vCPU parked): device and
// irqchip reset, pm->wake(source), the BSP at the FACS waking vector (or a
// full system reset with the image reloaded when there is none usable),
// the APs waiting for SIPI, then the vCPUs released (state running). A
// failure after the devices were reset stops the VM (status 1), as a
// failed system_reset does. Call on the control thread.
Result<void> wake_machine(Machine& m, devices::AcpiPm::WakeSource source) noexcept;

// Installs m.sleep: the AcpiPm's suspend handler, system_wakeup on QMP,
// the key hook of QMP's input commands; SIGPWR/system_powerdown and the
// RTC alarm reach m.sleep through their own wiring. No effect without an
// AcpiPm or reset state. Call after setup_qmp, the devices,
// setup_power_button and setup_system_reset, before any thread runs.
void setup_acpi_s3(Machine& m);

}  // namespace keel::vmm
