// Shared by the tests that need /dev/kvm: they skip (never pass) without it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <variant>

#include "src/boot/boot.h"
#include "src/kvm/boot_registers.h"
#include "src/kvm/cpuid.h"
#include "src/kvm/kvm_system.h"
#include "src/kvm/vcpu.h"
#include "src/kvm/vm.h"
#include "src/kvm/vcpu_exit.h"

namespace keel::kvm {

inline bool kvm_usable(std::string& why) {
  if (!std::filesystem::exists("/dev/kvm")) {
    why = "no /dev/kvm on this host";
    return false;
  }
  if (access("/dev/kvm", R_OK | W_OK) != 0) {
    why = "/dev/kvm is not accessible to this user";
    return false;
  }
  return true;
}

// A 32-bit flat protected-mode entry (no paging, which PVM hosts cannot do
// outside long mode) for the smoke tests' hand-assembled guests.
inline boot::BootEntry flat_entry_32(uint64_t rip = 0x1000, uint64_t rsp = 0x8000) {
  boot::BootEntry entry{};
  entry.mode = boot::EntryMode::protected_mode_32;
  entry.rip = rip;
  entry.rsp = rsp;
  return entry;
}

// vCPU 0 of `vm` with the host's CPUID and its registers set for `entry`.
inline std::unique_ptr<Vcpu> boot_vcpu0(const Kvm& kvm, Vm& vm, const boot::BootEntry& entry) {
  auto vcpu = vm.create_vcpu(0);
  vcpu->set_cpuid(patch_cpuid(kvm.supported_cpuid(), {.apic_id = 0, .cpu_count = 1}));
  vcpu->set_boot_registers(boot_registers(entry));
  return vcpu;
}

// The vCPU's next exit, skipping KVM_RUN returns that only report a signal
// (Interrupted); Unknown{~0u} after 100 of those in a row.
inline VcpuExit next_exit(Vcpu& vcpu) {
  for (int i = 0; i < 100; ++i) {
    VcpuExit e = vcpu.run();
    if (!std::holds_alternative<exit::Interrupted>(e)) return e;
  }
  return exit::Unknown{~0u};
}

}  // namespace keel::kvm

#define REQUIRE_KVM()                                                      \
  do {                                                                     \
    std::string why;                                                       \
    if (!::keel::kvm::kvm_usable(why)) GTEST_SKIP() << "SKIPPED: no /dev/kvm: " << why; \
  } while (0)
