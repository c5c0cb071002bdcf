#include "src/vmm/qmp_query_commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "devices/pci/pci_config_space.h"
#include "devices/pci/pci_device.h"
#include "devices/pci/pci_host_bridge.h"
#include "devices/pci/pci_layout.h"

namespace keel::vmm {
namespace {

using qmp::Json;

uint64_t image_size(const std::string& path) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const off_t end = ::lseek(fd, 0, SEEK_END);  // works for block devices too, unlike st_size
  ::close(fd);
  return end < 0 ? 0 : static_cast<uint64_t>(end);
}

Json inserted_json(const BlockDeviceSummary& disk) {
  return Json{{"file", disk.path},
              {"ro", disk.readonly},
              {"drv", "raw"},
              {"backing_file_depth", 0},
              {"encrypted", false},
              {"detect_zeroes", "off"},
              {"bps", 0},
              {"bps_rd", 0},
              {"bps_wr", 0},
              {"iops", 0},
              {"iops_rd", 0},
              {"iops_wr", 0},
              {"image", Json{{"filename", disk.path},
                             {"format", "raw"},
                             {"virtual-size", disk.virtual_size},
                             {"dirty-flag", false}}},
              // keel's virtio-blk offers FLUSH, so the guest sees a write-back cache.
              {"cache", Json{{"writeback", true}, {"direct", disk.direct}, {"no-flush", false}}},
              {"write_threshold", 0}};
}

template <typename T>
T config_value(devices::PciHostBridge& bridge, uint8_t slot, uint16_t offset) noexcept {
  std::array<std::byte, sizeof(T)> bytes{};
  bridge.config_read(slot, 0, offset, bytes);
  T value{};
  std::memcpy(&value, bytes.data(), sizeof(T));  // config space is little-endian, as is x86
  return value;
}

Json regions_json(const devices::PciDevice& device) {
  Json regions = Json::array();
  const auto layout = device.bar_layout();
  const devices::PciBarRegions decoded = device.decoded_bars();
  for (uint8_t bar = 0; bar < devices::kPciBarCount; ++bar) {
    const devices::PciBarInfo& info = layout[bar];
    if (info.kind == devices::PciBarKind::none || info.kind == devices::PciBarKind::memory64_upper || info.size == 0) {
      continue;
    }
    const int64_t address = decoded[bar] ? static_cast<int64_t>(decoded[bar]->address) : -1;
    if (info.kind == devices::PciBarKind::io) {
      regions.push_back(Json{{"bar", bar}, {"type", "io"}, {"address", address}, {"size", info.size}});
    } else {
      regions.push_back(Json{{"bar", bar},
                             {"type", "memory"},
                             {"address", address},
                             {"size", info.size},
                             {"prefetch", info.prefetchable},
                             {"mem_type_64", info.kind == devices::PciBarKind::memory64}});
    }
  }
  return regions;
}

Json device_json(devices::PciHostBridge& bridge, uint8_t slot) {
  namespace reg = devices::pci_reg;
  const uint16_t class_code = config_value<uint16_t>(bridge, slot, reg::kClassCode + 1);  // subclass, base class
  Json class_info = Json::object();
  if (const std::string_view desc = pci_class_description(class_code); !desc.empty()) class_info["desc"] = desc;
  class_info["class"] = class_code;
  Json device{{"bus", 0},
              {"slot", slot},
              {"function", 0},
              {"class_info", std::move(class_info)},
              {"id", Json{{"device", config_value<uint16_t>(bridge, slot, reg::kDeviceId)},
                          {"vendor", config_value<uint16_t>(bridge, slot, reg::kVendorId)},
                          {"subsystem", config_value<uint16_t>(bridge, slot, reg::kSubsystemId)},
                          {"subsystem-vendor", config_value<uint16_t>(bridge, slot, reg::kSubsystemVendorId)}}}};
  const uint8_t pin = config_value<uint8_t>(bridge, slot, reg::kInterruptPin);
  if (pin != 0) device["irq"] = config_value<uint8_t>(bridge, slot, reg::kInterruptLine);
  device["irq_pin"] = pin;
  device["qdev_id"] = "";  // keel's devices have no -device id=
  const std::shared_ptr<devices::PciDevice> function = bridge.device_at(slot);
  device["regions"] = function ? regions_json(*function) : Json::array();
  return device;
}

}  // namespace

std::vector<BlockDeviceSummary> describe_disks(const std::vector<virtio::blk::DiskSpec>& disks) {
  std::vector<BlockDeviceSummary> summaries;
  summaries.reserve(disks.size());
  for (const virtio::blk::DiskSpec& disk : disks) {
    summaries.push_back(BlockDeviceSummary{
        .path = disk.path, .readonly = disk.readonly, .direct = disk.direct, .virtual_size = image_size(disk.path)});
  }
  return summaries;
}

Json query_block_json(const std::vector<BlockDeviceSummary>& disks) {
  Json list = Json::array();
  for (size_t index = 0; index < disks.size(); ++index) {
    list.push_back(Json{{"device", fmt::format("virtio{}", index)},
                        {"qdev", fmt::format("/machine/peripheral-anon/device[{}]/virtio-backend", index)},
                        {"type", "unknown"},  // deprecated in QEMU, still sent
                        {"removable", false},
                        {"locked", false},
                        {"inserted", inserted_json(disks[index])},
                        {"io-status", "ok"}});
  }
  return list;
}

std::string_view pci_class_description(uint16_t class_code) noexcept {
  switch (class_code) {
    case 0x0100: return "SCSI controller";  // virtio-blk's class, as in QEMU
    case 0x0101: return "IDE controller";
    case 0x0106: return "SATA controller";
    case 0x0180: return "Storage controller";  // keel's virtio-blk (QEMU's says 0x0100)
    case 0x0200: return "Ethernet controller";
    case 0x0300: return "VGA controller";
    case 0x0600: return "Host bridge";
    case 0x0601: return "ISA bridge";
    case 0x0604: return "PCI bridge";
    case 0x0680: return "Bridge";
    case 0x0780: return "Communication controller";
    case 0x0c03: return "USB controller";
    case 0x00ff: return "Unclassified device";
    default: return "";
  }
}

Json query_pci_json(devices::PciHostBridge& bridge) {
  Json devices = Json::array();
  for (uint8_t slot = 0; slot < devices::pci_layout::kSlotCount; ++slot) {
    if (config_value<uint16_t>(bridge, slot, devices::pci_reg::kVendorId) == 0xFFFF) continue;  // empty slot
    devices.push_back(device_json(bridge, slot));
  }
  return Json::array({Json{{"bus", 0}, {"devices", std::move(devices)}}});
}

void register_query_commands(qmp::CommandRegistry& registry, std::vector<BlockDeviceSummary> disks,
                             std::function<devices::PciHostBridge*()> bridge) {
  registry.add("query-block", {}, [disks = std::move(disks)](const Json&) -> qmp::CommandResult {
    return query_block_json(disks);
  });
  registry.add("query-pci", {}, [bridge = std::move(bridge)](const Json&) -> qmp::CommandResult {
    devices::PciHostBridge* pci = bridge();
    if (pci == nullptr) return Json::array({Json{{"bus", 0}, {"devices", Json::array()}}});
    return query_pci_json(*pci);
  });
}

}  // namespace keel::vmm
