#include "src/kvm/kvm_gsi_route_sink.h"

#include "src/kvm/linux_kvm.h"
#include <sys/ioctl.h>

#include <cerrno>
#include <new>

namespace keel::kvm {

std::vector<std::byte> encode_gsi_routing(std::span<const GsiRoute> irqchip_routes,
                                          std::span<const MsiRoute> msi_routes) {
  const size_t count = irqchip_routes.size() + msi_routes.size();
  // operator new aligns the buffer for kvm_irq_routing.
  std::vector<std::byte> buffer(sizeof(kvm_irq_routing) + count * sizeof(kvm_irq_routing_entry));
  auto* table = reinterpret_cast<kvm_irq_routing*>(buffer.data());
  table->nr = static_cast<uint32_t>(count);
  kvm_irq_routing_entry* entry = table->entries;
  for (const GsiRoute& route : irqchip_routes) {
    entry->gsi = route.gsi;
    entry->type = KVM_IRQ_ROUTING_IRQCHIP;
    entry->u.irqchip.irqchip = static_cast<uint32_t>(route.chip);
    entry->u.irqchip.pin = route.pin;
    ++entry;
  }
  for (const MsiRoute& route : msi_routes) {
    entry->gsi = route.gsi;
    entry->type = KVM_IRQ_ROUTING_MSI;
    entry->u.msi.address_lo = static_cast<uint32_t>(route.message.address);
    entry->u.msi.address_hi = static_cast<uint32_t>(route.message.address >> 32);
    entry->u.msi.data = route.message.data;
    ++entry;
  }
  return buffer;
}

int KvmGsiRouteSink::set_routes(std::span<const GsiRoute> irqchip_routes,
                                std::span<const MsiRoute> msi_routes) noexcept {
  std::vector<std::byte> buffer;
  try {
    buffer = encode_gsi_routing(irqchip_routes, msi_routes);
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
  for (;;) {
    if (::ioctl(vm_fd_->get(), KVM_SET_GSI_ROUTING, buffer.data()) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

}  // namespace keel::kvm
