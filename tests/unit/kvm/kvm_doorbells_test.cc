// The spec checks of KvmDoorbellRegistrar (no /dev/kvm needed); the real
// registrations are in kvm_interrupts_smoke_test.cc.
#include "src/kvm/kvm_doorbells.h"

#include <gtest/gtest.h>

namespace keel::kvm {
namespace {

DoorbellSpec mmio(uint64_t address, uint32_t length) {
  return {.io = false, .address = address, .length = length, .eventfd = 3, .datamatch = std::nullopt};
}

TEST(DoorbellSpecProblem, AcceptsOrdinarySpecs) {
  EXPECT_EQ(doorbell_spec_problem(mmio(0xE000'0000, 2)), std::nullopt);
  EXPECT_EQ(doorbell_spec_problem(mmio(0xE000'0000, 8)), std::nullopt);
  DoorbellSpec port{.io = true, .address = 0xC050, .length = 2, .eventfd = 3, .datamatch = 1};
  EXPECT_EQ(doorbell_spec_problem(port), std::nullopt);
  port.address = 0xFFFE;
  EXPECT_EQ(doorbell_spec_problem(port), std::nullopt) << "ends exactly at 0x10000";
}

TEST(DoorbellSpecProblem, RejectsBadLengths) {
  for (uint32_t length : {0u, 3u, 5u, 16u}) EXPECT_NE(doorbell_spec_problem(mmio(0x1000, length)), std::nullopt);
}

TEST(DoorbellSpecProblem, RejectsMissingEventfd) {
  DoorbellSpec spec = mmio(0x1000, 4);
  spec.eventfd = -1;
  EXPECT_NE(doorbell_spec_problem(spec), std::nullopt);
}

TEST(DoorbellSpecProblem, RejectsRangesOutsideTheSpace) {
  DoorbellSpec port{.io = true, .address = 0xFFFF, .length = 2, .eventfd = 3, .datamatch = std::nullopt};
  EXPECT_NE(doorbell_spec_problem(port), std::nullopt);
  port.address = 0x12345;
  port.length = 1;
  EXPECT_NE(doorbell_spec_problem(port), std::nullopt);
  EXPECT_NE(doorbell_spec_problem(mmio(UINT64_MAX - 2, 4)), std::nullopt);
  EXPECT_EQ(doorbell_spec_problem(mmio(UINT64_MAX - 3, 4)), std::nullopt);
}

TEST(DoorbellSpecProblem, RejectsDatamatchWiderThanTheAccess) {
  DoorbellSpec spec = mmio(0x1000, 2);
  spec.datamatch = 0x1'0000;
  EXPECT_NE(doorbell_spec_problem(spec), std::nullopt);
  spec.datamatch = 0xFFFF;
  EXPECT_EQ(doorbell_spec_problem(spec), std::nullopt);
  spec.length = 8;
  spec.datamatch = UINT64_MAX;
  EXPECT_EQ(doorbell_spec_problem(spec), std::nullopt);
}

}  // namespace
}  // namespace keel::kvm
