// The loop each vCPU thread runs: KVM_RUN, hand the exit to handle_exit(),
// repeat until a stop is requested; an exit that ends the VM is logged here
// (message, register dump, PVM explanation) and becomes the stop request.
// Stop and pause requests kick vCPUs with immediate_exit plus SIGUSR1.
#pragma once

#include <pthread.h>

#include "keel/bus.h"
#include "keel/exit_stats.h"
#include "src/kvm/vcpu.h"
#include "src/vmm/vm_control.h"

namespace keel::vmm {

struct VcpuRunContext {
  Bus& pio;
  Bus& mmio;
  MachineControl& control;
  bool pvm_host;
  ExitStats* stats = nullptr;  // each vCPU counts into stats->vcpu(its id); null: no statistics
};

// Runs until control.stop_requested(). Before each KVM_RUN it parks the
// thread while a pause is requested (control.park_vcpu), so a paused vCPU
// never enters the guest. Never throws.
void run_vcpu_loop(kvm::Vcpu& vcpu, const VcpuRunContext& context) noexcept;

// Installs the (empty) SIGUSR1 handler without SA_RESTART, so a signal makes
// KVM_RUN return EINTR. Idempotent; call before any vCPU thread starts.
void install_vcpu_kick_handler();

// Make `vcpu` leave KVM_RUN (or not enter it): set immediate_exit, then
// signal its thread. Safe from any thread, including the vCPU's own.
void kick_vcpu(kvm::Vcpu& vcpu, pthread_t thread) noexcept;

}  // namespace keel::vmm
