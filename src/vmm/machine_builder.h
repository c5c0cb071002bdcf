// The one place a machine is assembled from its configuration (style rule
// 11: explicit, no registries).
#pragma once

#include <memory>

#include "src/vmm/machine_config.h"
#include "src/vmm/machine_parts.h"

namespace keel::vmm {

inline constexpr uint32_t kMaxCpus = 64;

// Builds guest memory, the KVM VM (irqchip, PIT, routing, memory slots), the
// event loop, console, PIO/MMIO buses with the PC devices, loads the boot
// image and configures every vCPU. Starts no thread. Throws ConfigError for
// bad configuration and kvm::HostError when the host lacks something.
std::unique_ptr<Machine> build_machine(const MachineConfig& config);

}  // namespace keel::vmm
