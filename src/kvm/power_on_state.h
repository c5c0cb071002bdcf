// What KVM gives no reset ioctl for, captured when it is created and set
// again on a machine reset (issue 10): the in-kernel irqchip (both 8259s,
// the IOAPIC) and PIT, and each vCPU's power-on registers, FPU, XCRs,
// pending events and LAPIC. A reset then goes through the SET ioctls, as
// QEMU's put-registers on reset does. The vCPU part takes the boot MSRs and
// leaves the entry registers and MP state to the caller, so an S3 wake can
// reuse it with a different entry.
#pragma once

#include <memory>
#include <span>

#include "keel/result.h"
#include "src/kvm/boot_msrs.h"

namespace keel::kvm {

class Vm;
class Vcpu;

class PlatformPowerOnState {
 public:
  // KVM_GET_IRQCHIP (PIC master, PIC slave, IOAPIC) and KVM_GET_PIT2.
  // Call right after Vm::setup_pc_platform(). Throws HostError.
  static PlatformPowerOnState capture(const Vm& vm);
  ~PlatformPowerOnState();
  PlatformPowerOnState(PlatformPowerOnState&&) noexcept;
  PlatformPowerOnState& operator=(PlatformPowerOnState&&) noexcept;

  // KVM_SET_IRQCHIP x3, KVM_SET_PIT2 (the PIT restarts from its power-on
  // counts). Call with no vCPU running. Error: the ioctl that failed.
  [[nodiscard]] Result<void> restore(const Vm& vm) const noexcept;

 private:
  struct Saved;
  explicit PlatformPowerOnState(std::unique_ptr<Saved> saved) noexcept;
  std::unique_ptr<Saved> saved_;
};

class VcpuPowerOnState {
 public:
  // KVM_GET_SREGS / REGS / FPU / VCPU_EVENTS / LAPIC (and XCRS where the
  // host has them). Call right after KVM_CREATE_VCPU and KVM_SET_CPUID2,
  // before anything else is configured. Throws HostError.
  static VcpuPowerOnState capture(const Vcpu& vcpu);
  ~VcpuPowerOnState();
  VcpuPowerOnState(VcpuPowerOnState&&) noexcept;
  VcpuPowerOnState& operator=(VcpuPowerOnState&&) noexcept;

  // Pending events cleared, sregs (APIC base, real mode at the reset
  // vector), regs, FPU, XCRs and LAPIC as captured, then `msrs` (the boot
  // MSRs; ones the host refuses are skipped, as at start-up) and the KVM
  // paravirtual MSRs off (a guest's kvmclock or steal-time page must not be
  // written into the next boot's RAM). Entry registers and MP state are the
  // caller's. The vCPU must not be in KVM_RUN.
  [[nodiscard]] Result<void> restore(const Vcpu& vcpu, std::span<const MsrValue> msrs) const noexcept;

 private:
  struct Saved;
  explicit VcpuPowerOnState(std::unique_ptr<Saved> saved) noexcept;
  std::unique_ptr<Saved> saved_;
};

}  // namespace keel::kvm
