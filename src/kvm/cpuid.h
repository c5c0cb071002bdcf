// CPUID as each vCPU sees it: KVM's supported list, patched per vCPU with its
// APIC ID and the machine's topology (N cores in one package, one thread per
// core), the hypervisor bit and the KVM signature leaves. Pure functions over
// keel's own entry type, so they are unit-tested without /dev/kvm.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace keel::kvm {

// Mirrors struct kvm_cpuid_entry2 (minus padding).
struct CpuidEntry {
  uint32_t function = 0;
  uint32_t index = 0;
  uint32_t flags = 0;  // kCpuidSignificantIndex when `index` selects a subleaf
  uint32_t eax = 0;
  uint32_t ebx = 0;
  uint32_t ecx = 0;
  uint32_t edx = 0;
  friend bool operator==(const CpuidEntry&, const CpuidEntry&) = default;
};

// KVM_CPUID_FLAG_SIGNIFCANT_INDEX (sic, the kernel's spelling).
inline constexpr uint32_t kCpuidSignificantIndex = 1;

struct CpuTopology {
  uint32_t apic_id = 0;    // this vCPU's (x2)APIC ID; keel uses the vCPU index
  uint32_t cpu_count = 1;  // cores in the one package (1..255)
};

// Returns `supported` patched for one vCPU:
//  - leaf 1: EBX[31:24] initial APIC ID, EBX[23:16] logical processors per
//    package, EDX bit 28 (HTT) set when cpu_count > 1, ECX bit 31 (hypervisor)
//  - leaf 4: EAX[31:26] cores per package - 1, EAX[25:14] threads sharing the
//    cache - 1 (0 for L1/L2, all cores for L3 and beyond)
//  - leaves 0xB and 0x1F (each when leaf 0 says it exists): SMT level (one
//    thread), core level (cpu_count cores), then an invalid level; EDX holds
//    the x2APIC ID in every subleaf
//  - leaf 0x40000000: "KVMKVMKVM\0\0\0", max hypervisor leaf 0x40000001;
//    leaf 0x40000001 (KVM features) kept as KVM reports it, zero if absent
std::vector<CpuidEntry> patch_cpuid(std::span<const CpuidEntry> supported, const CpuTopology& topology);

// The entry for (function, index), honouring kCpuidSignificantIndex.
std::optional<CpuidEntry> find_cpuid(std::span<const CpuidEntry> entries, uint32_t function,
                                     uint32_t index = 0) noexcept;

}  // namespace keel::kvm

namespace keel::kvm {

// --- CPUID feature hiding (`keel run --cpu-features -cx16,-tsc-deadline`) ---
// Some guests must not see features the host offers: on PVM hosts Linux uses
// cmpxchg16b (an emulation failure there) unless CX16 is hidden, and Linux
// only routes its timer through the PIT when TSC-deadline is not offered.

enum class CpuidRegister { eax, ebx, ecx, edx };

// Bits to clear in one register of one leaf (subleaf `index` when the entry
// has kCpuidSignificantIndex).
struct CpuidBits {
  uint32_t function = 0;
  uint32_t index = 0;
  CpuidRegister reg = CpuidRegister::eax;
  uint32_t mask = 0;
  friend bool operator==(const CpuidBits&, const CpuidBits&) = default;
};

// The names --cpu-features knows, with the bits each hides (a feature that
// others need takes them along: -xsave also hides OSXSAVE, AVX and AVX2).
struct CpuFeatureName {
  const char* name;
  const char* what;
  std::vector<CpuidBits> bits;
};
const std::vector<CpuFeatureName>& cpu_feature_names();

// "-cx16,-tsc-deadline": comma-separated "-NAME" entries. Throws
// keel::ConfigError naming the bad entry (unknown name, no '-', empty).
std::vector<CpuidBits> parse_cpu_feature_list(std::string_view text);

// Clears `hidden` in every matching entry of `entries`.
void hide_cpu_features(std::vector<CpuidEntry>& entries, std::span<const CpuidBits> hidden) noexcept;

}  // namespace keel::kvm
