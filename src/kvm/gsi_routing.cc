#include "src/kvm/gsi_routing.h"

namespace keel::kvm {

std::vector<GsiRoute> pc_gsi_routes() {
  constexpr uint32_t kCascadeIrq = 2;  // master pin 2 carries the slave PIC
  std::vector<GsiRoute> routes;
  for (uint32_t irq = 0; irq < 8; ++irq) {
    if (irq != kCascadeIrq) routes.push_back({irq, IrqChip::pic_master, irq});
  }
  for (uint32_t irq = 8; irq < 16; ++irq) routes.push_back({irq, IrqChip::pic_slave, irq - 8});
  for (uint32_t gsi = 0; gsi < kIoApicPins; ++gsi) {
    if (gsi == 0) {
      routes.push_back({0, IrqChip::ioapic, 2});  // PIT: ISA IRQ 0 -> pin 2
    } else if (gsi != kCascadeIrq) {
      routes.push_back({gsi, IrqChip::ioapic, gsi});
    }
  }
  return routes;
}

}  // namespace keel::kvm
