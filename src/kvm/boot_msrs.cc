#include "src/kvm/boot_msrs.h"

namespace keel::kvm {

bool amd_tsc_freq_sel_expected(std::span<const CpuidEntry> cpuid) noexcept {
  const CpuidEntry* vendor = nullptr;
  const CpuidEntry* signature = nullptr;
  for (const CpuidEntry& entry : cpuid) {
    if (entry.function == 0) vendor = &entry;
    if (entry.function == 1) signature = &entry;
  }
  if (vendor == nullptr || signature == nullptr) return false;
  // "AuthenticAMD" / "HygonGenuine" in EBX, EDX, ECX.
  const bool amd = vendor->ebx == 0x6874'7541 && vendor->edx == 0x6974'6E65 && vendor->ecx == 0x444D'4163;
  const bool hygon = vendor->ebx == 0x6F67'7948 && vendor->edx == 0x6E65'476E && vendor->ecx == 0x656E'6975;
  if (!amd && !hygon) return false;
  uint32_t family = (signature->eax >> 8) & 0xF;
  if (family == 0xF) family += (signature->eax >> 20) & 0xFF;
  return family > 0x10;
}

std::vector<MsrValue> boot_msrs(bool amd_hwcr) {
  std::vector<MsrValue> msrs{
      {msr::kSysenterCs, 0, "IA32_SYSENTER_CS"},
      {msr::kSysenterEsp, 0, "IA32_SYSENTER_ESP"},
      {msr::kSysenterEip, 0, "IA32_SYSENTER_EIP"},
      {msr::kStar, 0, "STAR"},
      {msr::kCstar, 0, "CSTAR"},
      {msr::kKernelGsBase, 0, "KERNEL_GS_BASE"},
      {msr::kSfmask, 0, "SFMASK"},
      {msr::kLstar, 0, "LSTAR"},
      {msr::kTsc, 0, "IA32_TSC"},
      {msr::kMiscEnable, msr::kMiscEnableFastStrings, "IA32_MISC_ENABLE"},
      {msr::kMtrrDefType, msr::kMtrrDefTypeEnabledWriteBack, "IA32_MTRR_DEF_TYPE"},
  };
  if (amd_hwcr) msrs.push_back({msr::kAmdHwcr, msr::kAmdHwcrTscFreqSel, "HWCR"});
  return msrs;
}

}  // namespace keel::kvm
