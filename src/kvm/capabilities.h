// The KVM capabilities keel cannot run without, checked once at start so a
// host that lacks one fails with a plain message instead of a later ioctl
// error.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace keel::kvm {

struct Capability {
  int id;            // KVM_CAP_*
  const char* name;  // "KVM_CAP_IRQCHIP"
};

// IRQCHIP, USER_MEMORY, IRQ_ROUTING, PIT2, IRQFD, IOEVENTFD, EXT_CPUID,
// SET_TSS_ADDR, IMMEDIATE_EXIT.
std::span<const Capability> required_capabilities() noexcept;

// The names of the capabilities in `wanted` for which `has` returns false.
std::vector<std::string> missing_capabilities(std::span<const Capability> wanted,
                                              const std::function<bool(int)>& has);

// "" when nothing is missing, else a one-line explanation naming each
// missing capability.
std::string describe_missing(const std::vector<std::string>& missing);

}  // namespace keel::kvm
