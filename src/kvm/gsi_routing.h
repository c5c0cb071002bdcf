// The PC's interrupt routing for the in-kernel irqchip, as QEMU's
// kvm_pc_setup_irq_routing builds it: ISA IRQs 0-15 go to the 8259 pair
// (except the cascade, 2) and every GSI 0-23 goes to the IOAPIC, with ISA
// IRQ 0 (the PIT) on IOAPIC pin 2 as the MADT interrupt override says.
#pragma once

#include <cstdint>
#include <vector>

namespace keel::kvm {

// Values match KVM_IRQCHIP_PIC_MASTER / _PIC_SLAVE / _IOAPIC.
enum class IrqChip : uint32_t { pic_master = 0, pic_slave = 1, ioapic = 2 };

struct GsiRoute {
  uint32_t gsi;
  IrqChip chip;
  uint32_t pin;
  friend bool operator==(const GsiRoute&, const GsiRoute&) = default;
};

inline constexpr uint32_t kIoApicPins = 24;

std::vector<GsiRoute> pc_gsi_routes();

}  // namespace keel::kvm
