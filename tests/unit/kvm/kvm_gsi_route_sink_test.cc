#include "src/kvm/kvm_gsi_route_sink.h"

#include <gtest/gtest.h>

#include "src/kvm/linux_kvm.h"

namespace keel::kvm {
namespace {

TEST(EncodeGsiRouting, IrqchipThenMsiEntries) {
  std::vector<GsiRoute> irqchip{{0, IrqChip::ioapic, 2}, {9, IrqChip::pic_slave, 1}};
  std::vector<MsiRoute> msi{{24, {0x1'FEE0'100C, 0x4041}}};
  std::vector<std::byte> buffer = encode_gsi_routing(irqchip, msi);
  ASSERT_EQ(buffer.size(), sizeof(kvm_irq_routing) + 3 * sizeof(kvm_irq_routing_entry));
  const auto* table = reinterpret_cast<const kvm_irq_routing*>(buffer.data());
  ASSERT_EQ(table->nr, 3u);
  EXPECT_EQ(table->entries[0].gsi, 0u);
  EXPECT_EQ(table->entries[0].type, uint32_t{KVM_IRQ_ROUTING_IRQCHIP});
  EXPECT_EQ(table->entries[0].u.irqchip.irqchip, uint32_t{KVM_IRQCHIP_IOAPIC});
  EXPECT_EQ(table->entries[0].u.irqchip.pin, 2u);
  EXPECT_EQ(table->entries[1].u.irqchip.irqchip, uint32_t{KVM_IRQCHIP_PIC_SLAVE});
  EXPECT_EQ(table->entries[1].u.irqchip.pin, 1u);
  const kvm_irq_routing_entry& entry = table->entries[2];
  EXPECT_EQ(entry.gsi, 24u);
  EXPECT_EQ(entry.type, uint32_t{KVM_IRQ_ROUTING_MSI});
  EXPECT_EQ(entry.flags, 0u);
  EXPECT_EQ(entry.u.msi.address_lo, 0xFEE0'100Cu);
  EXPECT_EQ(entry.u.msi.address_hi, 1u);
  EXPECT_EQ(entry.u.msi.data, 0x4041u);
}

TEST(EncodeGsiRouting, EmptyTable) {
  std::vector<std::byte> buffer = encode_gsi_routing({}, {});
  ASSERT_EQ(buffer.size(), sizeof(kvm_irq_routing));
  EXPECT_EQ(reinterpret_cast<const kvm_irq_routing*>(buffer.data())->nr, 0u);
}

}  // namespace
}  // namespace keel::kvm
