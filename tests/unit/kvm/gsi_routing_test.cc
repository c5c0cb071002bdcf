#include "src/kvm/gsi_routing.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace keel::kvm {
namespace {

bool has(const std::vector<GsiRoute>& routes, GsiRoute route) {
  return std::find(routes.begin(), routes.end(), route) != routes.end();
}

TEST(GsiRouting, IsaIrqsGoToThePicPairExceptTheCascade) {
  auto routes = pc_gsi_routes();
  for (uint32_t irq = 0; irq < 8; ++irq) {
    EXPECT_EQ(has(routes, {irq, IrqChip::pic_master, irq}), irq != 2) << irq;
  }
  for (uint32_t irq = 8; irq < 16; ++irq) EXPECT_TRUE(has(routes, {irq, IrqChip::pic_slave, irq - 8})) << irq;
}

TEST(GsiRouting, IoApicGetsAllPinsWithPitOnPin2) {
  auto routes = pc_gsi_routes();
  EXPECT_TRUE(has(routes, {0, IrqChip::ioapic, 2}));
  EXPECT_FALSE(has(routes, {0, IrqChip::ioapic, 0}));
  EXPECT_FALSE(has(routes, {2, IrqChip::ioapic, 2}));
  for (uint32_t gsi = 1; gsi < 24; ++gsi) {
    if (gsi != 2) {
      EXPECT_TRUE(has(routes, {gsi, IrqChip::ioapic, gsi})) << gsi;
    }
  }
}

TEST(GsiRouting, ExactSize) {
  // 7 master + 8 slave + 23 IOAPIC (GSI 2 has no route at all).
  auto routes = pc_gsi_routes();
  EXPECT_EQ(routes.size(), 38u);
  EXPECT_FALSE(std::any_of(routes.begin(), routes.end(), [](const GsiRoute& r) { return r.gsi == 2; }));
  EXPECT_FALSE(std::any_of(routes.begin(), routes.end(), [](const GsiRoute& r) { return r.gsi >= kIoApicPins; }));
}

}  // namespace
}  // namespace keel::kvm
