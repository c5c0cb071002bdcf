#include "virtio/pci/virtio_pci_caps.h"

#include <array>
#include <vector>

#include "virtio/pci/virtio_pci_layout.h"

namespace keel::virtio::pci {

namespace {

using devices::PciBarKind;

void put_le32(std::vector<uint8_t>& body, size_t at, uint32_t value) {
  for (size_t i = 0; i < 4; ++i) body[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

// struct virtio_pci_cap without cap_vndr / cap_next (PciConfigSpace writes
// those): offsets in the body are capability offsets minus 2.
std::vector<uint8_t> cap_body(CfgType type, uint8_t bar, uint32_t offset, uint32_t length, uint8_t cap_len) {
  std::vector<uint8_t> body(cap_len - 2, 0);
  body[cap::kCapLen - 2] = cap_len;
  body[cap::kCfgType - 2] = static_cast<uint8_t>(type);
  body[cap::kBar - 2] = bar;
  body[cap::kId - 2] = 0;  // one structure of each type
  put_le32(body, cap::kOffset - 2, offset);
  put_le32(body, cap::kLength - 2, length);
  return body;
}

uint16_t add_read_only(devices::PciConfigSpace& config, const std::vector<uint8_t>& body) {
  const std::vector<uint8_t> mask(body.size(), 0);
  return config.add_capability(kCapVendorSpecific, body, mask);
}

}  // namespace

VirtioCapOffsets add_virtio_capabilities(devices::PciConfigSpace& config) {
  VirtioCapOffsets offsets;
  offsets.common = add_read_only(
      config, cap_body(CfgType::common, kVirtioBar, kCommonCfgOffset, common::kSize, cap::kSize));

  std::vector<uint8_t> notify = cap_body(CfgType::notify, kVirtioBar, kNotifyOffset, kRegionSize, cap::kExtendedSize);
  put_le32(notify, cap::kNotifyOffMultiplier - 2, kNotifyOffMultiplier);
  offsets.notify = add_read_only(config, notify);

  offsets.isr = add_read_only(config, cap_body(CfgType::isr, kVirtioBar, kIsrOffset, 1, cap::kSize));
  offsets.device =
      add_read_only(config, cap_body(CfgType::device, kVirtioBar, kDeviceCfgOffset, kRegionSize, cap::kSize));

  // 4.1.4.9: bar, offset, length and pci_cfg_data are the driver's to
  // write; the structure fields start out zero.
  std::vector<uint8_t> pci_cfg = cap_body(CfgType::pci, 0, 0, 0, cap::kExtendedSize);
  std::vector<uint8_t> mask(pci_cfg.size(), 0);
  mask[cap::kBar - 2] = 0xFF;
  for (size_t i = 0; i < 4; ++i) {
    mask[cap::kOffset - 2 + i] = 0xFF;
    mask[cap::kLength - 2 + i] = 0xFF;
    mask[cap::kPciCfgData - 2 + i] = 0xFF;
  }
  offsets.pci_cfg = config.add_capability(kCapVendorSpecific, pci_cfg, mask);
  return offsets;
}

std::optional<PciCfgAccess> pci_cfg_access(const devices::PciConfigSpace& config, uint16_t cap_offset) noexcept {
  const uint8_t bar = static_cast<uint8_t>(config.read_dword(cap_offset + cap::kBar) & 0xFF);
  const uint32_t offset = config.read_dword(cap_offset + cap::kOffset);
  const uint32_t length = config.read_dword(cap_offset + cap::kLength);
  if (bar >= devices::kPciBarCount) return std::nullopt;
  const devices::PciBarInfo& info = config.bar_layout()[bar];
  if (info.kind == PciBarKind::none || info.kind == PciBarKind::memory64_upper) return std::nullopt;
  if (length != 1 && length != 2 && length != 4) return std::nullopt;
  if (offset % length != 0 || offset > info.size || length > info.size - offset) return std::nullopt;
  return PciCfgAccess{bar, offset, length};
}

}  // namespace keel::virtio::pci
