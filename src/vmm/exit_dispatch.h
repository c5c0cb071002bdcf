// What keel does with each vCPU exit: port I/O goes to the PIO bus (each
// element of a rep ins/outs separately), MMIO to the MMIO bus, and the
// exits that end the VM become a stop decision for the vCPU runner to
// log and hand to MachineControl. No KVM calls here, so it is unit-tested
// with real buses and fake devices.
#pragma once

#include <optional>
#include <string>

#include "keel/bus.h"
#include "keel/vm_control.h"
#include "src/kvm/pvm.h"
#include "src/kvm/vcpu_exit.h"

namespace keel::vmm {

struct StopDecision {
  StopReason reason = StopReason::error;
  int exit_status = 0;
  std::string message = {};                // one line: what happened
  bool is_error = false;                   // log at error level
  bool is_warning = false;                 // else at warn level (else info)
  bool dump_registers = false;             // log the vCPU's registers too
  std::optional<kvm::PvmFailure> pvm_hint = std::nullopt;  // explain it when the host is PVM
};

// nullopt: run the vCPU again. Never throws; guest-driven exits cost no
// allocation (only a stop decision allocates its message). With `stats`
// (the calling vCPU's own block), the exit's kind is counted and each bus
// access lands in its range's row (include/keel/exit_stats.h).
[[nodiscard]] std::optional<StopDecision> handle_exit(const kvm::VcpuExit& exit, Bus& pio, Bus& mmio,
                                                      VcpuExitStats* stats = nullptr) noexcept;

}  // namespace keel::vmm
