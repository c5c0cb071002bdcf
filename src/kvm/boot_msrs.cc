#include "src/kvm/boot_msrs.h"

namespace keel::kvm {

std::vector<MsrValue> boot_msrs() {
  return {
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
}

}  // namespace keel::kvm
