// GsiRouteSink over KVM_SET_GSI_ROUTING, and the encoding of a table into
// struct kvm_irq_routing (separate so tests check it without /dev/kvm).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "src/kvm/gsi_route_table.h"
#include "src/kvm/unique_fd.h"

namespace keel::kvm {

// A kvm_irq_routing header followed by its entries: IRQCHIP entries
// (chip, pin), then MSI entries (address_lo/hi, data; flags 0, since x86
// has no device IDs).
std::vector<std::byte> encode_gsi_routing(std::span<const GsiRoute> irqchip_routes,
                                          std::span<const MsiRoute> msi_routes);

class KvmGsiRouteSink final : public GsiRouteSink {
 public:
  explicit KvmGsiRouteSink(std::shared_ptr<const UniqueFd> vm_fd) : vm_fd_(std::move(vm_fd)) {}
  int set_routes(std::span<const GsiRoute> irqchip_routes, std::span<const MsiRoute> msi_routes) noexcept override;

 private:
  std::shared_ptr<const UniqueFd> vm_fd_;
};

}  // namespace keel::kvm
