#include "src/vmm/vcpu_runner.h"

#include <signal.h>

#include <cerrno>
#include <cstring>
#include <variant>

#include <spdlog/spdlog.h>

#include "src/kvm/host_error.h"
#include "src/vmm/exit_dispatch.h"

namespace keel::vmm {

namespace {

constexpr int kKickSignal = SIGUSR1;

// Deliberately empty: the point is that the signal interrupts KVM_RUN.
void on_kick_signal(int) {}

void report(const StopDecision& decision, const kvm::Vcpu& vcpu, bool pvm_host) noexcept {
  try {
    if (decision.is_error) {
      spdlog::error("vcpu {}: {}", vcpu.id(), decision.message);
    } else if (decision.is_warning) {
      spdlog::warn("vcpu {}: {}", vcpu.id(), decision.message);
    } else {
      spdlog::info("vcpu {}: {}", vcpu.id(), decision.message);
    }
    if (decision.dump_registers) spdlog::error("vcpu {} registers:\n{}", vcpu.id(), vcpu.register_dump());
    if (pvm_host && decision.pvm_hint) {
      std::string why = kvm::pvm_explanation(*decision.pvm_hint);
      if (decision.is_error) {
        spdlog::error("{}", why);
      } else {
        spdlog::warn("{}", why);
      }
    }
  } catch (...) {
    // Logging failed (out of memory): the stop request still goes through.
  }
}

}  // namespace

void install_vcpu_kick_handler() {
  struct sigaction action {};
  action.sa_handler = on_kick_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
  if (sigaction(kKickSignal, &action, nullptr) != 0) kvm::throw_host_error("sigaction(SIGUSR1)", errno);
}

void kick_vcpu(kvm::Vcpu& vcpu, pthread_t thread) noexcept {
  // immediate_exit covers the window between the thread's stop check and its
  // entry into KVM_RUN, where a signal alone would be lost.
  vcpu.request_immediate_exit();
  pthread_kill(thread, kKickSignal);
}

void run_vcpu_loop(kvm::Vcpu& vcpu, const VcpuRunContext& context) noexcept {
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, kKickSignal);
  pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);

  VcpuExitStats* stats =
      context.stats && vcpu.id() < context.stats->vcpu_count() ? &context.stats->vcpu(vcpu.id()) : nullptr;
  // The last exit was handled but KVM completes it (an IN's data into RAX,
  // the emulator's register write-back) only on the next KVM_RUN.
  bool exit_incomplete = false;
  while (!context.control.stop_requested()) {
    if (context.control.pause_requested()) {
      if (exit_incomplete) {
        // Complete it before parking, with immediate_exit so no guest
        // instruction runs (KVM API: "complete pending operations"): a
        // reset's new registers must not be overwritten by it later.
        vcpu.request_immediate_exit();
      } else {
        // Parked outside KVM_RUN until resume or a stop; then round the loop
        // again so a stop that woke us is seen before the guest runs.
        context.control.park_vcpu(vcpu.id());
        vcpu.clear_immediate_exit();
        continue;
      }
    }
    kvm::VcpuExit exit = vcpu.run();
    exit_incomplete = !std::holds_alternative<kvm::exit::Interrupted>(exit);
    if (!exit_incomplete) {
      // A kick (stop or pause) left immediate_exit set; clear it before the
      // checks at the top of the loop, or every later KVM_RUN would return
      // at once. Safe: a kicker sets its flag before immediate_exit, so a
      // kick that lands after this clear is seen by those checks.
      vcpu.clear_immediate_exit();
      continue;
    }
    std::optional<StopDecision> decision = handle_exit(exit, context.pio, context.mmio, stats);
    if (!decision) continue;
    report(*decision, vcpu, context.pvm_host);
    // The one-line reason keel prints (and the harness reports) names a PVM
    // limit as such: on those hosts it is the usual cause, not a keel bug.
    if (context.pvm_host && decision->pvm_hint) {
      try {
        decision->message = kvm::pvm_failure_summary(decision->message, *decision->pvm_hint);
      } catch (...) {
        // Out of memory: stop with KVM's own message.
      }
    }
    context.control.request_stop(decision->reason, decision->exit_status, decision->message);
    return;
  }
}

}  // namespace keel::vmm
