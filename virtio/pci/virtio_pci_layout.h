// Where keel's virtio-pci function keeps things: PCI identity numbers, the
// BAR layout, the virtio vendor capability format (virtio 1.2, 4.1.4) and
// the common configuration register offsets (4.1.4.3). Header-only so the
// transport and its tests use the same numbers.
#pragma once

#include <cstdint>

namespace keel::virtio::pci {

// 4.1.2 PCI Device Discovery: modern-only devices use 0x1040 + device type
// and revision 1. Subsystem IDs as QEMU's virtio-pci sets them.
inline constexpr uint16_t kVendorId = 0x1af4;
inline constexpr uint16_t kDeviceIdBase = 0x1040;
inline constexpr uint8_t kRevision = 1;
inline constexpr uint16_t kSubsystemVendorId = 0x1af4;
inline constexpr uint16_t kSubsystemId = 0x1100;
inline constexpr uint32_t kClassMassStorageOther = 0x01'80'00;
inline constexpr uint32_t kClassNetworkEthernet = 0x02'00'00;
inline constexpr uint32_t kClassUnclassified = 0xFF'00'00;

// BAR0: MSI-X table at 0 and the PBA after it (32-bit memory, at least
// 4 KiB). BAR2/3: the virtio structures (64-bit memory, not prefetchable:
// reading the ISR has a side effect). Each structure gets its own 4 KiB
// page, as QEMU lays them out, so a driver can map them separately.
inline constexpr uint8_t kMsixBar = 0;
inline constexpr uint32_t kMsixTableOffset = 0;
inline constexpr uint64_t kMsixBarMinSize = 0x1000;
inline constexpr uint8_t kVirtioBar = 2;
inline constexpr uint64_t kVirtioBarSize = 0x4000;
inline constexpr uint64_t kCommonCfgOffset = 0x0000;
inline constexpr uint64_t kIsrOffset = 0x1000;
inline constexpr uint64_t kDeviceCfgOffset = 0x2000;
inline constexpr uint64_t kNotifyOffset = 0x3000;
inline constexpr uint64_t kRegionSize = 0x1000;
// 4.1.4.4: queue N's doorbell is at notify base + queue_notify_off *
// notify_off_multiplier; keel uses queue_notify_off = N and 4 bytes apart.
inline constexpr uint32_t kNotifyOffMultiplier = 4;
// A 16-bit write (4.1.5.2: the driver writes the queue index as le16).
inline constexpr uint32_t kNotifyWriteLength = 2;

// 4.1.4 Virtio Structure PCI Capabilities.
inline constexpr uint8_t kCapVendorSpecific = 0x09;
enum class CfgType : uint8_t {
  common = 1,
  notify = 2,
  isr = 3,
  device = 4,
  pci = 5,
};
// struct virtio_pci_cap: offsets from the capability start.
namespace cap {
inline constexpr uint16_t kCapLen = 2;
inline constexpr uint16_t kCfgType = 3;
inline constexpr uint16_t kBar = 4;
inline constexpr uint16_t kId = 5;
inline constexpr uint16_t kOffset = 8;
inline constexpr uint16_t kLength = 12;
inline constexpr uint16_t kSize = 16;
// virtio_pci_notify_cap adds notify_off_multiplier, virtio_pci_cfg_cap adds
// pci_cfg_data; both at 16.
inline constexpr uint16_t kNotifyOffMultiplier = 16;
inline constexpr uint16_t kPciCfgData = 16;
inline constexpr uint16_t kExtendedSize = 20;
}  // namespace cap

// 4.1.4.3 struct virtio_pci_common_cfg.
namespace common {
inline constexpr uint16_t kDeviceFeatureSelect = 0x00;
inline constexpr uint16_t kDeviceFeature = 0x04;
inline constexpr uint16_t kDriverFeatureSelect = 0x08;
inline constexpr uint16_t kDriverFeature = 0x0C;
inline constexpr uint16_t kConfigMsixVector = 0x10;
inline constexpr uint16_t kNumQueues = 0x12;
inline constexpr uint16_t kDeviceStatus = 0x14;
inline constexpr uint16_t kConfigGeneration = 0x15;
inline constexpr uint16_t kQueueSelect = 0x16;
inline constexpr uint16_t kQueueSize = 0x18;
inline constexpr uint16_t kQueueMsixVector = 0x1A;
inline constexpr uint16_t kQueueEnable = 0x1C;
inline constexpr uint16_t kQueueNotifyOff = 0x1E;
inline constexpr uint16_t kQueueDesc = 0x20;
inline constexpr uint16_t kQueueDriver = 0x28;
inline constexpr uint16_t kQueueDevice = 0x30;
inline constexpr uint16_t kQueueNotifyData = 0x38;
inline constexpr uint16_t kQueueReset = 0x3A;
inline constexpr uint16_t kSize = 0x3C;
}  // namespace common

// ISR status bits (4.1.4.5).
inline constexpr uint8_t kIsrQueue = 1u << 0;
inline constexpr uint8_t kIsrConfig = 1u << 1;

}  // namespace keel::virtio::pci
