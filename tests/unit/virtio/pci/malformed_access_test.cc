// A hostile driver: every offset and width of every BAR and of config
// space, written with junk, must leave keel running and the device usable
// after a reset.
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

namespace keel::testing {
namespace {

TEST_F(VirtioPciTest, JunkEverywhereLeavesADeviceThatResets) {
  pci->connect_intx(std::make_shared<FakeIrqLine>());
  activate();
  uint64_t junk = 0x9E37'79B9'7F4A'7C15ull;
  const auto next = [&] {
    junk ^= junk << 13;
    junk ^= junk >> 7;
    junk ^= junk << 17;
    return junk;
  };
  for (uint8_t bar = 0; bar < devices::kPciBarCount; ++bar) {
    for (uint64_t offset = 0; offset < 0x4100; offset += 3) {
      for (size_t size : {1u, 2u, 4u, 8u}) {
        const uint64_t size_limit = bar == 2 ? 0x4000 : 0x1000;
        if (offset + size > size_limit) continue;  // the bus never sends these
        bar_write(bar, offset, size, next());
        (void)bar_read(bar, offset, size);
      }
    }
  }
  for (uint16_t offset = 0x40; offset < 0x100; ++offset) {
    cfg_write(offset, 1, next());
    (void)cfg_read(offset, 4 - offset % 4);
  }
  // Whatever state that left: reset brings the device back.
  set_status(0);
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(common(vp::common::kNumQueues, 2), 2u);
  activate();
  EXPECT_EQ(status(), st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
}

}  // namespace
}  // namespace keel::testing
