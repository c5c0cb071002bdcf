// PCI identity, BARs and the capability list of the virtio-pci function
// (virtio 1.2, 4.1.2 and 4.1.4).
#include <map>

#include "keel/config_error.h"
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

namespace keel::testing {
namespace {

using devices::pci_reg::kCapabilitiesPointer;

TEST_F(VirtioPciTest, BlockIdentityMatchesModernVirtio) {
  EXPECT_EQ(cfg_read(0x00, 2), 0x1af4u);
  EXPECT_EQ(cfg_read(0x02, 2), 0x1042u);  // 0x1040 + block (2)
  EXPECT_EQ(cfg_read(0x08, 1), 1u);       // revision 1: modern-only
  EXPECT_EQ(cfg_read(0x09, 3), 0x018000u);
  EXPECT_EQ(cfg_read(0x2C, 2), 0x1af4u);
  EXPECT_EQ(cfg_read(0x2E, 2), 0x1100u);
  EXPECT_EQ(cfg_read(0x3D, 1), 1u);  // INTA#
  EXPECT_NE(cfg_read(0x06, 2) & devices::pci_reg::kStatusCapabilities, 0u);
}

TEST_F(VirtioPciTest, NetIdentityUsesEthernetClass) {
  fake->type = virtio::kDeviceTypeNet;
  make();
  EXPECT_EQ(cfg_read(0x02, 2), 0x1041u);
  EXPECT_EQ(cfg_read(0x09, 3), 0x020000u);
}

TEST_F(VirtioPciTest, BarsAreMsixMemory32AndVirtioMemory64) {
  const auto layout = pci->bar_layout();
  EXPECT_EQ(layout[0].kind, devices::PciBarKind::memory32);
  EXPECT_EQ(layout[0].size, 0x1000u);
  EXPECT_EQ(layout[2].kind, devices::PciBarKind::memory64);
  EXPECT_EQ(layout[2].size, 0x4000u);
  EXPECT_EQ(layout[3].kind, devices::PciBarKind::memory64_upper);
  // Size probe (PCI 3.0 6.2.5.1): all-ones reads back the size mask.
  cfg_write(0x18, 4, 0xFFFF'FFFF);
  EXPECT_EQ(cfg_read(0x18, 4), 0xFFFF'C000u | devices::pci_reg::kBarMemory64);
}

struct VirtioCap {
  uint16_t at;
  uint8_t len, bar, id;
  uint32_t offset, length;
};

TEST_F(VirtioPciTest, CapabilityChainDescribesEveryStructure) {
  std::map<uint8_t, VirtioCap> caps;  // by cfg_type
  bool saw_msix = false;
  uint16_t at = static_cast<uint16_t>(cfg_read(kCapabilitiesPointer, 1));
  for (int guard = 0; at != 0 && guard < 48; ++guard) {
    ASSERT_GE(at, 0x40);
    ASSERT_EQ(at % 4, 0);
    const uint8_t id = static_cast<uint8_t>(cfg_read(at, 1));
    if (id == vp::kCapVendorSpecific) {
      const uint8_t type = static_cast<uint8_t>(cfg_read(at + 3, 1));
      EXPECT_FALSE(caps.contains(type)) << "duplicate cfg_type " << int{type};
      caps[type] = VirtioCap{at, static_cast<uint8_t>(cfg_read(at + 2, 1)), static_cast<uint8_t>(cfg_read(at + 4, 1)),
                             static_cast<uint8_t>(cfg_read(at + 5, 1)), static_cast<uint32_t>(cfg_read(at + 8, 4)),
                             static_cast<uint32_t>(cfg_read(at + 12, 4))};
    } else if (id == devices::MsixCapability::kCapabilityId) {
      saw_msix = true;
      EXPECT_EQ(at, pci->msix_capability_offset());
      EXPECT_EQ(cfg_read(at + 2, 2) & 0x7FF, 2u);  // table size N-1: 2 queues + config
      EXPECT_EQ(cfg_read(at + 4, 4), 0u);           // table at BAR0 offset 0
    }
    at = static_cast<uint16_t>(cfg_read(at + 1, 1));
  }
  EXPECT_EQ(at, 0) << "capability list does not end";
  EXPECT_TRUE(saw_msix);

  ASSERT_EQ(caps.size(), 5u);
  const auto expect_cap = [&](vp::CfgType type, uint8_t len, uint8_t bar, uint32_t offset, uint32_t length) {
    const VirtioCap& cap = caps.at(static_cast<uint8_t>(type));
    EXPECT_EQ(cap.len, len);
    EXPECT_EQ(cap.bar, bar);
    EXPECT_EQ(cap.id, 0);
    EXPECT_EQ(cap.offset, offset);
    EXPECT_EQ(cap.length, length);
  };
  expect_cap(vp::CfgType::common, 16, 2, 0x0000, 0x3C);
  expect_cap(vp::CfgType::notify, 20, 2, 0x3000, 0x1000);
  expect_cap(vp::CfgType::isr, 16, 2, 0x1000, 1);
  expect_cap(vp::CfgType::device, 16, 2, 0x2000, 0x1000);
  expect_cap(vp::CfgType::pci, 20, 0, 0, 0);
  EXPECT_EQ(cfg_read(caps.at(2).at + 16, 4), 4u);  // notify_off_multiplier
  EXPECT_EQ(caps.at(5).at, pci->capability_offsets().pci_cfg);
}

TEST_F(VirtioPciTest, CapabilityFieldsAreReadOnly) {
  const uint16_t common_cap = pci->capability_offsets().common;
  cfg_write(common_cap + 8, 4, 0x1234);
  cfg_write(common_cap + 4, 1, 5);
  EXPECT_EQ(cfg_read(common_cap + 8, 4), 0u);
  EXPECT_EQ(cfg_read(common_cap + 4, 1), 2u);
}

TEST_F(VirtioPciTest, DevicesTheTransportCannotCarryAreRejected) {
  fake->queues = 0;
  EXPECT_THROW(make(), ConfigError);
  fake->queues = 2;
  fake->max_size = 100;
  EXPECT_THROW(make(), ConfigError);
  fake->max_size = 0;
  EXPECT_THROW(make(), ConfigError);
  fake->max_size = 256;
  fake->queues = 2000;  // more doorbells than the notify region holds
  EXPECT_THROW(make(), ConfigError);
  EXPECT_THROW(virtio::VirtioPciDevice(nullptr, guest.memory(), interrupts, registrar, poller), ConfigError);
}

TEST_F(VirtioPciTest, DeviceConfigReachesTheDevice) {
  EXPECT_EQ(bar_read(vp::kVirtioBar, vp::kDeviceCfgOffset, 4), 0x44332211u);
  EXPECT_EQ(bar_read(vp::kVirtioBar, vp::kDeviceCfgOffset + 6, 2), 0x8877u);
  bar_write(vp::kVirtioBar, vp::kDeviceCfgOffset + 1, 1, 0xEE);
  EXPECT_EQ(fake->config[1], 0xEE);
  EXPECT_EQ(bar_read(vp::kVirtioBar, vp::kDeviceCfgOffset + 0x100, 4), 0u);
}

}  // namespace
}  // namespace keel::testing
