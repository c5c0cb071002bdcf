// The virtio vendor-specific capabilities (virtio 1.2, 4.1.4) in a
// function's config space, and the VIRTIO_PCI_CAP_PCI_CFG access window
// (4.1.4.9) through which a driver without BAR mappings reaches BAR memory.
#pragma once

#include <cstdint>
#include <optional>

#include "devices/pci/pci_config_space.h"

namespace keel::virtio::pci {

struct VirtioCapOffsets {
  uint16_t common = 0;
  uint16_t notify = 0;
  uint16_t isr = 0;
  uint16_t device = 0;
  uint16_t pci_cfg = 0;
};

// Appends COMMON, NOTIFY, ISR, DEVICE and PCI_CFG capabilities describing
// keel's BAR2 layout (virtio_pci_layout.h). Start-up only; throws
// ConfigError when config space is full.
VirtioCapOffsets add_virtio_capabilities(devices::PciConfigSpace& config);

// One access the driver set up in the PCI_CFG capability.
struct PciCfgAccess {
  uint8_t bar = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
};

// The access programmed in the PCI_CFG capability at `cap_offset`, or
// nullopt when it is not one the device performs: a BAR that is not
// implemented, a length other than 1, 2 or 4, an offset not aligned to the
// length, or a range beyond the BAR (4.1.4.9.1 leaves these undefined; keel
// reads 0 and ignores writes).
std::optional<PciCfgAccess> pci_cfg_access(const devices::PciConfigSpace& config, uint16_t cap_offset) noexcept;

}  // namespace keel::virtio::pci
