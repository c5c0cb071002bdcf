// One KVM vCPU: its fd and kvm_run mapping, boot-time configuration
// (CPUID, MSRs, LAPIC, registers, MP state) and KVM_RUN with the exit
// decoded. Made by Vm::create_vcpu(). Configure it before its thread runs;
// run() is then called from one thread only, while request_immediate_exit()
// may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "src/kvm/boot_msrs.h"
#include "src/kvm/boot_registers.h"
#include "src/kvm/cpuid.h"
#include "src/kvm/register_dump.h"
#include "src/kvm/unique_fd.h"
#include "src/kvm/vcpu_exit.h"

struct kvm_run;

namespace keel::kvm {

enum class MpState { runnable, uninitialized };

class Vcpu {
 public:
  ~Vcpu();
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  uint32_t id() const noexcept { return id_; }
  // The vCPU fd, for the kvm layer's own helpers (power_on_state.h).
  int fd() const noexcept { return fd_.get(); }

  // KVM_SET_CPUID2.
  void set_cpuid(std::span<const CpuidEntry> entries);
  // KVM_SET_MSRS, one pass per refusal: KVM stops at the first MSR it does
  // not accept, so that one is skipped and the rest retried. Returns the
  // names of the MSRs the host refused.
  std::vector<std::string> set_msrs(std::span<const MsrValue> msrs);
  // KVM_GET_LAPIC / KVM_SET_LAPIC with LINT0 = ExtINT, LINT1 = NMI.
  void configure_bsp_lapic();
  // KVM_GET_SREGS, patch, KVM_SET_SREGS, then KVM_SET_REGS.
  void set_boot_registers(const BootRegisters& regs);
  // KVM_SET_MP_STATE.
  void set_mp_state(MpState state);

  // KVM_RUN once. Never throws.
  [[nodiscard]] VcpuExit run() noexcept;

  // Make the current or next KVM_RUN return at once (Interrupted). Pair with
  // a signal to the vCPU thread to cut short a KVM_RUN already in the guest.
  void request_immediate_exit() noexcept;
  void clear_immediate_exit() noexcept;

  // KVM_GET_REGS + KVM_GET_SREGS; false when either fails.
  bool snapshot_registers(RegisterSnapshot& out) const noexcept;
  // Formatted registers, or a line saying why they could not be read.
  std::string register_dump() const;

 private:
  friend class Vm;
  Vcpu(uint32_t id, UniqueFd fd, void* run_mapping, size_t mapping_size);
  VcpuExit decode_exit() noexcept;

  uint32_t id_;
  UniqueFd fd_;
  kvm_run* run_;
  size_t mapping_size_;
};

}  // namespace keel::kvm
