#include "src/vmm/machine_reset.h"

#include <exception>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/kvm/boot_registers.h"
#include "src/vmm/exit_status.h"
#include "src/vmm/machine_parts.h"

namespace keel::vmm {

Result<void> reset_vcpus(Machine& m, const kvm::BootRegisters& bsp_entry) noexcept {
  if (!m.reset || m.reset->vcpus.size() != m.vcpus.size()) return fail(Errc::not_found, "no vCPU power-on state");
  for (size_t index = 0; index < m.vcpus.size(); ++index) {
    kvm::Vcpu& vcpu = *m.vcpus[index];
    if (Result<void> restored = m.reset->vcpus[index].restore(vcpu, m.reset->boot_msrs); !restored) return restored;
    try {
      if (index == 0) {
        // As create_vcpus() sets up the boot processor.
        vcpu.configure_bsp_lapic();
        vcpu.set_boot_registers(bsp_entry);
        vcpu.set_mp_state(kvm::MpState::runnable);
      } else {
        // Back to waiting for the guest's INIT/SIPI, as at creation.
        vcpu.set_mp_state(kvm::MpState::uninitialized);
      }
    } catch (const std::exception& error) {
      spdlog::error("system_reset: vCPU {}: {}", index, error.what());
      return fail(Errc::io_error, "setting a vCPU's boot registers failed");
    }
  }
  return {};
}

Result<void> reload_boot_image(Machine& m) noexcept {
  if (!m.reset->image) return fail(Errc::not_found, "no boot image kept");
  try {
    m.boot_entry = boot::load_reloadable(*m.memory, *m.reset->image, m.reset->boot_config);
    return {};
  } catch (const std::exception& error) {
    spdlog::error("system_reset: {}", error.what());
    return fail(Errc::io_error, "reloading the boot image failed");
  }
}

namespace {

// The in-kernel PIC/IOAPIC/PIT after the devices (whose resets lower their
// lines), then the vCPUs.
Result<void> reset_processors(Machine& m, ResetKind kind) noexcept {
  if (!m.reset->platform) return fail(Errc::not_found, "no irqchip power-on state");
  if (Result<void> restored = m.reset->platform->restore(*m.vm); !restored) return restored;
  (void)kind;  // one kind for now; the S3 wake calls reset_vcpus itself (acpi_s3.cc)
  return reset_vcpus(m, kvm::boot_registers(m.boot_entry));
}

}  // namespace

ResetResult reset_machine(Machine& m, ResetKind kind) noexcept {
  if (!m.reset) {
    return ResetResult{.outcome = ResetOutcome::failed, .was_paused = false, .stuck_vcpu = std::nullopt,
                       .failed_step = "this machine cannot be reset"};
  }
  std::lock_guard guard(m.reset->lock);
  MachineControl& control = m.control;
  const ResetSteps steps{
      .run_state = [&control] { return control.run_state(); },
      .park = [&control] { return control.pause(); },
      // A reset of a sleeping guest (S3) ends the sleep: it runs again.
      .release = [&control] {
        return control.run_state() == RunState::suspended ? control.wake_from_suspend() : control.resume();
      },
      .stop_requested = [&control] { return control.stop_requested(); },
      .reset_devices = [&m] { m.reset->devices.reset_all(); },
      .reload_image = [&m] { return reload_boot_image(m); },
      .reset_vcpus = [&m, kind] { return reset_processors(m, kind); },
  };
  const ResetResult result = run_reset(steps, kind);
  if (result.outcome == ResetOutcome::failed) {
    // Devices were reset, RAM or vCPUs half-done: this VM cannot go on.
    try {
      control.request_stop(StopReason::error, kExitVmFailed, fmt::format("system_reset: {}", result.failed_step));
    } catch (...) {
      control.request_stop(StopReason::error, kExitVmFailed);
    }
  } else if (result.outcome == ResetOutcome::done) {
    spdlog::info("system reset{}", result.was_paused ? " (the VM stays paused)" : "");
  }
  return result;
}

}  // namespace keel::vmm
