// The PCI configuration access capability (virtio 1.2, 4.1.4.9): BAR
// memory read and written through a window in config space.
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

namespace keel::testing {
namespace {

using namespace vp::common;

class PciCfgWindowTest : public VirtioPciTest {
 protected:
  void select(uint8_t bar, uint32_t offset, uint32_t length) {
    const uint16_t cap = pci->capability_offsets().pci_cfg;
    cfg_write(cap + vp::cap::kBar, 1, bar);
    cfg_write(cap + vp::cap::kOffset, 4, offset);
    cfg_write(cap + vp::cap::kLength, 4, length);
  }
  uint16_t data() const { return pci->capability_offsets().pci_cfg + vp::cap::kPciCfgData; }
};

TEST_F(PciCfgWindowTest, ReadsBarMemory) {
  select(2, vp::kCommonCfgOffset + kNumQueues, 2);
  EXPECT_EQ(cfg_read(data(), 2), 2u);
  select(2, vp::kDeviceCfgOffset, 4);
  EXPECT_EQ(cfg_read(data(), 4), 0x44332211u);
  const uint16_t cap = pci->capability_offsets().pci_cfg;
  EXPECT_EQ(cfg_read(cap + vp::cap::kBar, 1), 2u);  // the fields read back
  EXPECT_EQ(cfg_read(cap + vp::cap::kLength, 4), 4u);
}

TEST_F(PciCfgWindowTest, WritesBarMemory) {
  select(2, vp::kCommonCfgOffset + kDeviceStatus, 1);
  cfg_write(data(), 1, st::kAcknowledge);
  EXPECT_EQ(status(), st::kAcknowledge);
  select(2, vp::kCommonCfgOffset + kQueueSelect, 2);
  cfg_write(data(), 2, 1);
  EXPECT_EQ(common(kQueueSelect, 2), 1u);
}

TEST_F(PciCfgWindowTest, ReachesTheMsixTable) {
  select(0, 8, 4);  // entry 0, message data
  cfg_write(data(), 4, 0x1234);
  EXPECT_EQ(bar_read(0, 8, 4), 0x1234u);
  EXPECT_EQ(cfg_read(data(), 4), 0x1234u);
}

TEST_F(PciCfgWindowTest, DoorbellThroughTheWindowTakesTheFallbackPath) {
  select(2, vp::kNotifyOffset + 4, 2);
  cfg_write(data(), 2, 1);
  EXPECT_EQ(pci->fallback_notifications(), 1u);
}

TEST_F(PciCfgWindowTest, InvalidSelectionsReadZeroAndWriteNothing) {
  const struct {
    uint8_t bar;
    uint32_t offset, length;
  } bad[] = {
      {2, vp::kCommonCfgOffset + kDeviceStatus, 3},  // length not 1/2/4
      {2, vp::kCommonCfgOffset + kDeviceStatus, 8},
      {2, vp::kCommonCfgOffset + kDeviceStatus, 0},
      {2, vp::kCommonCfgOffset + kNumQueues + 1, 2},  // misaligned
      {1, 0, 4},                                      // no such BAR
      {3, 0, 4},                                      // upper half of BAR2
      {7, 0, 4},
      {0xFF, 0, 4},
      {2, 0x4000, 4},  // beyond the BAR
      {2, 0xFFFF'FFFC, 4},
  };
  for (const auto& b : bad) {
    select(b.bar, b.offset, b.length);
    cfg_write(data(), 4, 0xFFFF'FFFF);
    EXPECT_EQ(cfg_read(data(), 4), 0u) << int{b.bar} << " " << b.offset << " " << b.length;
  }
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(common(kQueueSelect, 2), 0u);
}

}  // namespace
}  // namespace keel::testing
