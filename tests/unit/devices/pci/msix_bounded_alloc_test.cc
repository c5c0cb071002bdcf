// A guest hammering MSI-X -- table and PBA accesses of every size at every
// offset, enable and function-mask flips, with interrupts pending in
// between -- costs keel no heap (issue 9):
// the table is sized at construction. Counted with a replaced operator new
// (tests/support/allocation_counter) around the capability's calls only.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "devices/pci/msix_capability.h"
#include "tests/support/allocation_counter.h"

namespace keel::devices {
namespace {

using keel::testing::AllocationCounter;

// Vectors that count, as the real ones write an eventfd: the shared fake
// records every delivery in a vector, which would be counted here.
class CountingVector final : public MsiVector {
 public:
  void set_message(const MsiMessage&) noexcept override { ++updates; }
  void trigger() noexcept override { ++triggers; }
  int eventfd() const noexcept override { return -1; }
  uint64_t updates = 0;
  uint64_t triggers = 0;
};

class CountingController final : public InterruptController {
 public:
  std::shared_ptr<IrqLine> level_line(uint32_t) override { return nullptr; }
  std::unique_ptr<MsiVector> create_msi_vector() override { return std::make_unique<CountingVector>(); }
};

TEST(MsixBoundedAllocation, AFloodOfTableAndControlAccessesAllocatesNothing) {
  constexpr uint8_t kBar = 1;
  constexpr uint32_t kTable = 0x1000, kPba = 0x2000;
  PciConfigSpace config(PciIdentity{});
  config.add_bar(kBar, PciBarInfo{PciBarKind::memory32, 0x4000, false});
  CountingController interrupts;
  MsixCapability msix(config, interrupts, 64, kBar, kTable, kBar, kPba);
  const uint16_t control = static_cast<uint16_t>(msix.capability_offset() + 2);
  uint64_t allocated = 0;
  uint32_t state = 0x9E3779B9;
  const auto next = [&] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  for (int round = 0; round < 20000; ++round) {
    const uint32_t r = next();
    const size_t size = size_t{1} << (r % 4);  // 1, 2, 4, 8 bytes
    const uint64_t offset = (r >> 4) % 0x3000;  // table, PBA, between and beyond
    std::array<std::byte, 8> bytes{};
    const uint32_t value = next();
    std::memcpy(bytes.data(), &value, 4);
    const uint16_t flags = static_cast<uint16_t>(next() & 0xC000);  // enable, function mask
    AllocationCounter allocations;
    (void)msix.bar_write(kBar, offset, std::span(bytes).first(size));
    (void)msix.bar_read(kBar, offset, std::span(bytes).first(size));
    config.write(control, std::as_bytes(std::span(&flags, 1)));
    msix.config_written(control, 2);
    msix.notify(static_cast<uint16_t>(r % 70));  // pending bits set and cleared; some past the end
    allocated += allocations.count();
  }
  EXPECT_EQ(allocated, 0u);
}

}  // namespace
}  // namespace keel::devices
