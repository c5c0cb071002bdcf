// The MSR values a vCPU starts with, as Firecracker and QEMU set them for a
// directly booted kernel. Pure data; vcpu.cc hands them to KVM_SET_MSRS and
// skips any the host's KVM refuses.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "src/kvm/cpuid.h"

namespace keel::kvm {

struct MsrValue {
  uint32_t index;
  uint64_t value;
  const char* name;
};

namespace msr {
inline constexpr uint32_t kTsc = 0x10;
inline constexpr uint32_t kSysenterCs = 0x174;
inline constexpr uint32_t kSysenterEsp = 0x175;
inline constexpr uint32_t kSysenterEip = 0x176;
inline constexpr uint32_t kMiscEnable = 0x1A0;
inline constexpr uint32_t kMtrrDefType = 0x2FF;
inline constexpr uint32_t kStar = 0xC000'0081;
inline constexpr uint32_t kLstar = 0xC000'0082;
inline constexpr uint32_t kCstar = 0xC000'0083;
inline constexpr uint32_t kSfmask = 0xC000'0084;
inline constexpr uint32_t kKernelGsBase = 0xC000'0102;
// AMD Hardware Configuration register; bit 24 TscFreqSel says the TSC counts
// at the P0 frequency. Firmware sets it (read-only 1 on family 11h+), and
// Linux warns "[Firmware Bug]: TSC doesn't count with P0 frequency!" when it
// is clear.
inline constexpr uint32_t kAmdHwcr = 0xC001'0015;
inline constexpr uint64_t kAmdHwcrTscFreqSel = 1ull << 24;

inline constexpr uint64_t kMiscEnableFastStrings = 1;
// MTRRdefType: E (bit 11) enables MTRRs, default type 6 = write-back.
inline constexpr uint64_t kMtrrDefTypeEnabledWriteBack = (1u << 11) | 6;
}  // namespace msr

// The vCPU's CPUID says an AMD or Hygon CPU of family 11h or later, where
// firmware leaves HWCR.TscFreqSel set.
bool amd_tsc_freq_sel_expected(std::span<const CpuidEntry> cpuid) noexcept;

// `amd_hwcr`: include HWCR with TscFreqSel (see amd_tsc_freq_sel_expected).
std::vector<MsrValue> boot_msrs(bool amd_hwcr = false);

}  // namespace keel::kvm
