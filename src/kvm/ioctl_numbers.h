// KVM ioctl request numbers for code outside src/kvm that must name them
// without including <linux/kvm.h>: the seccomp allow-lists (src/sandbox)
// permit ioctl(2) only with these requests, by argument.
#pragma once

#include <span>

namespace keel::kvm {

struct IoctlNumber {
  unsigned long request;
  const char* name;  // "KVM_RUN"
};

// What a vCPU thread issues on its own vCPU fd after set-up: KVM_RUN, and the
// register reads for a fatal exit's dump.
std::span<const IoctlNumber> vcpu_run_ioctls() noexcept;

// VM-fd ioctls the interrupt plane and doorbells issue while the VM runs,
// from whichever thread drives a device (a vCPU's MMIO/PIO exit, the event
// loop, console input, key injection, and the teardown on the main thread):
// KVM_IRQ_LINE (ISA lines), KVM_IRQFD (INTx lines, MSI vectors: assign on
// activation, deassign on reset), KVM_IOEVENTFD (doorbells, moved with a BAR),
// KVM_SET_GSI_ROUTING (MSI routes committed on trigger).
std::span<const IoctlNumber> device_ioctls() noexcept;

// What a machine reset (QMP system_reset) issues on the VM and vCPU fds
// while every vCPU is parked: the SET ioctls of the power-on state, the
// boot registers and LAPIC, the MP state.
std::span<const IoctlNumber> machine_reset_ioctls() noexcept;

}  // namespace keel::kvm
