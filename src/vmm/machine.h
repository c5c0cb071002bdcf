// Builds a VM from a MachineConfig and runs it to the end.
#pragma once

#include <chrono>
#include <functional>

#include "src/kvm/host_error.h"
#include "src/vmm/exit_status.h"
#include "src/vmm/machine_config.h"

namespace keel::vmm {

// The kvm layer's error type: the host lacks something keel needs.
using HostError = keel::kvm::HostError;

// Builds the machine (guest memory, KVM VM with in-kernel irqchip and PIT,
// devices on the PIO/MMIO buses, console, boot image, vCPU threads), runs it
// until a stop request, tears it down, and returns keel's exit status
// (exit_status.h): the debug-exit value, 0 on guest power-off, reset or
// triple fault, 130/143 on SIGINT/SIGTERM, 1 when the VM failed (KVM
// internal error, failed entry) -- in that case, since a guest may also exit
// with 1, a one-line reason "keel: ..." is printed on stderr. Throws
// ConfigError for bad user input, and keel::vmm::HostError when the host
// lacks something (no /dev/kvm, missing capability) or a KVM call fails
// while building.
//
// A stop request (the guest, SIGINT/SIGTERM, Ctrl-A x, --timeout) never
// waits for the event loop or a vCPU: signals and the deadline are served by
// the calling thread, console input by its own thread. If tearing the VM
// down then takes longer than RunHooks::teardown_grace (a stuck vCPU or
// device handler), keel says so on stderr and exits with the stop's status.
int run_machine(const MachineConfig& config);

struct Machine;

// For tests: reach into the built machine before it runs, and replace what
// happens when the teardown is stuck (by default: exit the process).
struct RunHooks {
  static constexpr std::chrono::milliseconds kDefaultTeardownGrace{10'000};
  std::function<void(Machine&)> before_start;
  std::chrono::milliseconds teardown_grace = kDefaultTeardownGrace;
  std::function<void()> on_teardown_stuck;  // runs on the watchdog's thread; the teardown then goes on
};
int run_machine(const MachineConfig& config, const RunHooks& hooks);

}  // namespace keel::vmm
