#include "src/kvm/pvm.h"

#include <filesystem>
#include <system_error>

namespace keel::kvm {

bool is_pvm_host() noexcept {
  std::error_code error;
  return std::filesystem::exists("/sys/module/kvm_pvm", error);
}

std::string pvm_explanation(PvmFailure failure) {
  std::string text =
      "this host's KVM is PVM (no VT-x/AMD-V): it runs guest code through KVM's instruction emulator, ";
  switch (failure) {
    case PvmFailure::internal_error:
      text +=
          "which cannot emulate every instruction (int3, ud2, xsave/xrstor, cmpxchg16b and others end in an "
          "emulation failure instead of reaching the guest)";
      break;
    case PvmFailure::fail_entry:
      text += "which refused to enter the guest in the state it was in";
      break;
    case PvmFailure::shutdown:
      text +=
          "which cannot run 32-bit paging (paging works only in long mode, with 2 MiB pages) and turns some "
          "guest exceptions into a shutdown; this may not be a real triple fault";
      break;
  }
  text +=
      ". Guests that need those run on a VT-x/AMD-V host; see \"Testing on PVM hosts\" in keel's docs/architecture.md";
  return text;
}

std::string pvm_failure_summary(std::string_view message, PvmFailure failure) {
  std::string_view what;
  switch (failure) {
    case PvmFailure::internal_error: what = "PVM emulation failure (the host's KVM emulator cannot run this guest instruction)"; break;
    case PvmFailure::fail_entry: what = "PVM entry failure (the host's KVM refused the guest state)"; break;
    case PvmFailure::shutdown: what = "PVM host: possibly an emulation limit, not a real triple fault"; break;
  }
  std::string text(what);
  text += ": ";
  text += message;
  return text;
}

}  // namespace keel::kvm
