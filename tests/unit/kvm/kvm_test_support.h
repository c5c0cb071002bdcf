// Shared by the tests that need /dev/kvm: they skip (never pass) without it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <variant>

#include "src/kvm/vcpu.h"
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
