#include "src/vmm/acpi_s3.h"

#include <chrono>
#include <exception>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/qmp/server.h"
#include "src/vmm/exit_status.h"
#include "src/vmm/machine_parts.h"
#include "src/vmm/machine_reset.h"
#include "src/vmm/qmp_input_commands.h"
#include "src/vmm/s3_wake_vector.h"

namespace keel::vmm {

namespace {

using WakeSource = devices::AcpiPm::WakeSource;

std::string_view source_name(WakeSource source) noexcept {
  switch (source) {
    case WakeSource::power_button: return "the power button";
    case WakeSource::rtc_alarm: return "the RTC alarm";
    case WakeSource::other: return "a wake request";
  }
  return "a wake event";
}

}  // namespace

SleepControl::SleepControl(Hooks hooks) : hooks_(std::move(hooks)) {}

SleepControl::~SleepControl() = default;

void SleepControl::attach_timer(TimerFactory& timers) {
  timer_ = timers.create_timer([this] { service(); });
}

void SleepControl::schedule() noexcept {
  try {
    if (hooks_.schedule) {
      hooks_.schedule();
    } else if (timer_) {
      // Any deadline in the past fires at once, on the control thread.
      timer_->arm(std::chrono::nanoseconds{1});
    }
  } catch (...) {
    // A schedule hook does not throw (Timer::arm is noexcept).
  }
}

void SleepControl::on_sleep_request() noexcept {
  try {
    // Only asks: this is a vCPU thread, which parks once it returns.
    if (!hooks_.begin_suspend || !hooks_.begin_suspend()) return;  // not running (a stop came first)
  } catch (...) {
    return;
  }
  suspend_pending_.store(true, std::memory_order_release);
  schedule();
}

bool SleepControl::request_wake(WakeSource source) noexcept {
  try {
    if (!hooks_.run_state || hooks_.run_state() != RunState::suspended) return false;
    // Asked at the event, before anything is reset: RTC_EN is guest state.
    if (hooks_.wake_armed && !hooks_.wake_armed(source)) return false;
  } catch (...) {
    return false;
  }
  int none = -1;
  wake_pending_.compare_exchange_strong(none, static_cast<int>(source), std::memory_order_acq_rel);
  schedule();
  return true;
}

void SleepControl::service() noexcept {
  try {
    if (suspend_pending_.exchange(false, std::memory_order_acq_rel) && hooks_.complete_suspend) {
      const LifecycleResult result = hooks_.complete_suspend();
      if (result.outcome == LifecycleOutcome::done) {
        spdlog::info("guest suspended to RAM (ACPI S3)");
        if (hooks_.emit) hooks_.emit("SUSPEND", qmp::Json());
      } else if (result.outcome == LifecycleOutcome::timed_out) {
        spdlog::warn("ACPI S3: vCPU {} did not stop within {} ms; the guest keeps running",
                     result.stuck_vcpu.value_or(0), RunStateMachine::kDefaultPauseTimeout.count());
      }
    }
    const int pending = wake_pending_.exchange(-1, std::memory_order_acq_rel);
    if (pending < 0 || !hooks_.run_state || hooks_.run_state() != RunState::suspended) return;
    const auto source = static_cast<WakeSource>(pending);
    if (!hooks_.wake_machine) return;
    if (const Result<void> woken = hooks_.wake_machine(source); !woken) {
      spdlog::error("ACPI S3 wake failed: {}", woken.error().what);
      return;
    }
    spdlog::info("guest woken from S3 by {}", source_name(source));
    if (hooks_.emit) hooks_.emit("WAKEUP", qmp::Json());
  } catch (...) {
    // Logging or the event failed (out of memory): the transitions are done.
  }
}

qmp::CommandResult SleepControl::system_wakeup() {
  if (!hooks_.run_state || hooks_.run_state() != RunState::suspended) {
    return qmp::generic_error(std::string(kNotSuspended));
  }
  request_wake(WakeSource::other);
  return qmp::Json::object();
}

void SleepControl::register_commands(qmp::CommandRegistry& registry) {
  registry.add("system_wakeup", {}, [this](const qmp::Json&) { return system_wakeup(); });
}

Result<void> wake_machine(Machine& m, WakeSource source) noexcept {
  if (!m.reset || !m.reset->platform || !m.memory || !m.acpi_pm) return fail(Errc::not_found, "no S3 wake state");
  std::lock_guard guard(m.reset->lock);  // not while a system_reset runs
  MachineControl& control = m.control;
  if (control.run_state() != RunState::suspended) return fail(Errc::invalid_argument, "the guest is not suspended");
  if (control.stop_requested()) return {};  // the stop wakes the parked vCPUs; they return
  // As QEMU's pc_machine_wakeup: a machine reset that keeps RAM.
  m.reset->devices.reset_all();
  Result<void> step = m.reset->platform->restore(*m.vm);
  // The guest wrote the vectors: decoded and bounded by s3_wake_vector.
  const WakeVector vector = read_waking_vector(*m.memory, m.boot_entry.facs_address);
  std::optional<kvm::BootRegisters> entry = wake_registers(vector);
  if (step) {
    if (entry) {
      m.acpi_pm->wake(source);
      spdlog::info("S3 wake: BSP at {:#x} ({})", vector.address,
                   vector.mode == WakeVector::Mode::real_mode ? "real mode" : "32-bit protected mode");
    } else {
      spdlog::warn("S3 wake: the FACS holds no usable waking vector; system reset");
      step = reload_boot_image(m);
      if (step) entry = kvm::boot_registers(m.boot_entry);
    }
  }
  if (step) step = reset_vcpus(m, *entry);
  if (!step) {
    // Devices reset, vCPUs half-done: this VM cannot go on.
    try {
      control.request_stop(StopReason::error, kExitVmFailed, fmt::format("S3 wake: {}", step.error().what));
    } catch (...) {
      control.request_stop(StopReason::error, kExitVmFailed);
    }
    return step;
  }
  const LifecycleResult released = control.wake_from_suspend();
  if (!released.ok()) return fail(Errc::invalid_argument, "the VM stopped during the wake");
  return {};
}

void setup_acpi_s3(Machine& m) {
  if (!m.acpi_pm || !m.reset || !m.console_loop) return;
  Machine* machine = &m;
  std::shared_ptr<devices::AcpiPm> pm = m.acpi_pm;
  SleepControl::Hooks hooks{
      .begin_suspend = [machine] { return machine->control.begin_suspend(); },
      .complete_suspend = [machine] { return machine->control.complete_suspend(); },
      .run_state = [machine] { return machine->control.run_state(); },
      .wake_armed = [pm](WakeSource source) { return pm->wake_armed(source); },
      .wake_machine = [machine](WakeSource source) { return wake_machine(*machine, source); },
      .emit =
          [machine](std::string_view name, const qmp::Json& data) {
            if (machine->qmp_server) machine->qmp_server->emit_event(name, data);
          },
      .schedule = {},
  };
  m.sleep = std::make_unique<SleepControl>(std::move(hooks));
  SleepControl* sleep = m.sleep.get();
  sleep->attach_timer(*m.console_loop);
  pm->set_suspend_handler([sleep] { sleep->on_sleep_request(); });
  if (m.qmp_registry) sleep->register_commands(*m.qmp_registry);
  // A key press wakes a sleeping guest (QEMU's PS/2 keyboard does).
  if (m.qmp_input) m.qmp_input->set_key_hook([sleep] { sleep->request_wake(WakeSource::other); });
}

}  // namespace keel::vmm
