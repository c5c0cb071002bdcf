// QMP's query-block and query-pci (issue 10), in QEMU 7.2's shapes: what a
// management tool reads to find a VM's disks and PCI functions. keel's
// --disk is QEMU's `-drive if=virtio,format=raw`, so disks are "virtio0",
// "virtio1", ... with qdev paths under /machine/peripheral-anon.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "src/qmp/command_registry.h"
#include "virtio/blk/disk_spec.h"

namespace keel::devices {
class PciHostBridge;
}

namespace keel::vmm {

// What query-block reports about one --disk; fixed once the VM is built.
struct BlockDeviceSummary {
  std::string path;
  bool readonly = false;
  bool direct = false;
  uint64_t virtual_size = 0;  // bytes
};

// Summaries of --disk images, sizes read now (0 for a file that cannot be
// opened: the machine builder reports that one). Call at start-up, before
// the sandbox narrows what the QMP thread may do.
std::vector<BlockDeviceSummary> describe_disks(const std::vector<virtio::blk::DiskSpec>& disks);

qmp::Json query_block_json(const std::vector<BlockDeviceSummary>& disks);

// Bus 0 as QEMU's query-pci shows it: [{"bus": 0, "devices": [...]}], each
// device's IDs and class read from its config space and its BARs where
// they decode now (address -1 when decode is off, as QEMU shows an unmapped BAR).
qmp::Json query_pci_json(devices::PciHostBridge& bridge);

// QEMU's short name for a PCI class (base << 8 | subclass), or "" for one
// keel does not name (QEMU then leaves out "desc" too).
std::string_view pci_class_description(uint16_t class_code) noexcept;

// Adds query-block and query-pci. `bridge` may return null (no PCI yet).
void register_query_commands(qmp::CommandRegistry& registry, std::vector<BlockDeviceSummary> disks,
                             std::function<devices::PciHostBridge*()> bridge);

}  // namespace keel::vmm
