#include "src/kvm/capabilities.h"

#include "src/kvm/linux_kvm.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace keel::kvm {

namespace {
#define KEEL_CAP(name) Capability{name, #name}
constexpr Capability kRequired[] = {
    KEEL_CAP(KVM_CAP_IRQCHIP),    KEEL_CAP(KVM_CAP_USER_MEMORY), KEEL_CAP(KVM_CAP_IRQ_ROUTING),
    KEEL_CAP(KVM_CAP_PIT2),       KEEL_CAP(KVM_CAP_IRQFD),       KEEL_CAP(KVM_CAP_IOEVENTFD),
    KEEL_CAP(KVM_CAP_EXT_CPUID),  KEEL_CAP(KVM_CAP_SET_TSS_ADDR), KEEL_CAP(KVM_CAP_IMMEDIATE_EXIT),
};
#undef KEEL_CAP
}  // namespace

std::span<const Capability> required_capabilities() noexcept { return kRequired; }

std::vector<std::string> missing_capabilities(std::span<const Capability> wanted,
                                              const std::function<bool(int)>& has) {
  std::vector<std::string> missing;
  for (const Capability& cap : wanted) {
    if (!has(cap.id)) missing.emplace_back(cap.name);
  }
  return missing;
}

std::string describe_missing(const std::vector<std::string>& missing) {
  if (missing.empty()) return {};
  return fmt::format("this host's KVM lacks {} that keel needs: {}",
                     missing.size() == 1 ? "a capability" : "capabilities", fmt::join(missing, ", "));
}

}  // namespace keel::kvm
