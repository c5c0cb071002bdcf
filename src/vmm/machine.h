// Builds a VM from a MachineConfig and runs it to the end.
#pragma once

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
int run_machine(const MachineConfig& config);

}  // namespace keel::vmm
