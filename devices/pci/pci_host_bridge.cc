#include "devices/pci/pci_host_bridge.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "devices/pci/pci_bar_window.h"
#include "devices/pci/pci_config_space.h"
#include "keel/config_error.h"

namespace keel::devices {

namespace {

using namespace pci_layout;

// CONFIG_ADDRESS (PCI 3.0 3.2.2.3.2): bit 31 enable, 23:16 bus, 15:11
// device, 10:8 function, 7:2 register; bits 30:24 are reserved and 1:0 are
// hardwired to 0 (they read back as 0).
constexpr uint32_t kConfigEnable = 1u << 31;
constexpr uint32_t kConfigAddressWritable = 0x80FF'FFFC;
constexpr uint64_t kResetPortOffset = 1;  // 0xCF9 - 0xCF8
constexpr uint64_t kDataOffset = kConfigDataPort - kConfigAddressPort;
constexpr uint64_t kMinMemoryBarAlignment = 4096;  // one BAR per page, so it can be mapped alone

void fill_ones(std::span<std::byte> data) noexcept { std::fill(data.begin(), data.end(), std::byte{0xFF}); }

// 00:00.0 itself: only the standard header, no BARs. (The i440FX's chipset
// registers, PAM/SMRAM, are not modelled: there is no BIOS shadowing here.)
class HostBridgeFunction final : public PciDevice {
 public:
  HostBridgeFunction()
      : config_(PciIdentity{.vendor_id = PciHostBridge::kVendorId, .device_id = PciHostBridge::kDeviceId,
                            .revision = 0x02, .class_code = PciHostBridge::kClassCode,
                            .subsystem_vendor_id = 0x1AF4, .subsystem_id = 0x1100}) {}
  void config_read(uint16_t offset, std::span<std::byte> data) noexcept override { config_.read(offset, data); }
  void config_write(uint16_t offset, std::span<const std::byte> data) noexcept override { config_.write(offset, data); }
  void bar_read(uint8_t, uint64_t, std::span<std::byte> data) noexcept override { fill_ones(data); }
  void bar_write(uint8_t, uint64_t, std::span<const std::byte>) noexcept override {}
  std::array<PciBarInfo, kPciBarCount> bar_layout() const noexcept override { return config_.bar_layout(); }
  PciBarRegions decoded_bars() const noexcept override { return config_.decoded_bars(); }
  void reset() noexcept override { config_.reset(); }

 private:
  PciConfigSpace config_;
};

class ConfigPorts final : public BusDevice {
 public:
  explicit ConfigPorts(PciHostBridge& bridge) : bridge_(bridge) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override { bridge_.port_read(offset, data); }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override { bridge_.port_write(offset, data); }

 private:
  PciHostBridge& bridge_;  // the bridge owns this object
};

struct EcamAddress {
  uint8_t slot;
  uint8_t function;
  uint16_t offset;
};

// PCIe base spec 7.2.2: bus 27:20, device 19:15, function 14:12, register 11:0.
// The window covers bus 0 only.
EcamAddress decode_ecam(uint64_t offset) noexcept {
  return {static_cast<uint8_t>((offset >> 15) & 0x1F), static_cast<uint8_t>((offset >> 12) & 0x7),
          static_cast<uint16_t>(offset & 0xFFF)};
}

class EcamWindow final : public BusDevice {
 public:
  explicit EcamWindow(PciHostBridge& bridge) : bridge_(bridge) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override {
    const EcamAddress at = decode_ecam(offset);
    if (at.offset + data.size() > kPciConfigSpaceSize) return fill_ones(data);  // crosses into the next function
    bridge_.config_read(at.slot, at.function, at.offset, data);
  }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override {
    const EcamAddress at = decode_ecam(offset);
    if (at.offset + data.size() > kPciConfigSpaceSize) return;
    bridge_.config_write(at.slot, at.function, at.offset, data);
  }

 private:
  PciHostBridge& bridge_;
};

bool placement_ok(const PciBarRegion& region) noexcept {
  const uint64_t start = region.io ? kIoWindowStart : kMmioWindowStart;
  const uint64_t end = region.io ? kIoWindowEnd : kMmioWindowEnd;
  return region.size != 0 && region.size <= end - start && region.address >= start &&
         region.address <= end - region.size;
}

}  // namespace

std::shared_ptr<PciHostBridge> PciHostBridge::create(Bus& pio, Bus& mmio, std::shared_ptr<BusDevice> reset_port,
                                                     InterruptController* interrupts) {
  std::shared_ptr<PciHostBridge> bridge(new PciHostBridge(pio, mmio, std::move(reset_port), interrupts));
  bridge->attach(0, std::make_shared<HostBridgeFunction>());
  bridge->record_power_on(bridge->slots_[0]);
  return bridge;
}

PciHostBridge::PciHostBridge(Bus& pio, Bus& mmio, std::shared_ptr<BusDevice> reset_port,
                             InterruptController* interrupts)
    : pio_(pio), mmio_(mmio), reset_port_(std::move(reset_port)), interrupts_(interrupts) {
  // The port and ECAM devices only hold a reference: whoever keeps them
  // (the buses) must also keep the bridge. install() makes the buses hold
  // both by inserting wrappers that share ownership of the bridge.
  config_ports_ = std::make_shared<ConfigPorts>(*this);
  ecam_ = std::make_shared<EcamWindow>(*this);
}

namespace {
// Shares ownership of the bridge with whatever holds the bus device, so the
// bridge lives as long as the buses reference it.
class Owning final : public BusDevice {
 public:
  Owning(std::shared_ptr<PciHostBridge> owner, std::shared_ptr<BusDevice> inner)
      : owner_(std::move(owner)), inner_(std::move(inner)) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override { inner_->read(offset, data); }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override { inner_->write(offset, data); }

 private:
  std::shared_ptr<PciHostBridge> owner_;
  std::shared_ptr<BusDevice> inner_;
};
}  // namespace

void PciHostBridge::install() {
  auto self = shared_from_this();
  if (!pio_.insert(kConfigAddressPort, kConfigPortCount, std::make_shared<Owning>(self, config_ports_),
                   "PCI config ports")) {
    throw ConfigError(fmt::format("PCI config ports {:#x}-{:#x} overlap another device", kConfigAddressPort,
                                  kConfigAddressPort + kConfigPortCount - 1));
  }
  if (!mmio_.insert(kEcamBase, kEcamSize, std::make_shared<Owning>(self, ecam_), "PCI ECAM")) {
    throw ConfigError(fmt::format("PCI ECAM window at {:#x} overlaps another device", kEcamBase));
  }
}

void PciHostBridge::attach(uint8_t index, std::shared_ptr<PciDevice> device) {
  Slot& slot = slots_[index];
  const auto layout = device->bar_layout();
  for (uint8_t bar = 0; bar < kPciBarCount; ++bar) {
    const PciBarKind kind = layout[bar].kind;
    if (kind == PciBarKind::io || kind == PciBarKind::memory32 || kind == PciBarKind::memory64) {
      slot.windows[bar] = std::make_shared<PciBarWindow>(device, bar);
    }
  }
  slot.device = std::move(device);
}

uint8_t PciHostBridge::add_device(std::shared_ptr<PciDevice> device) {
  if (!device) throw ConfigError("PCI: no device to add");
  std::lock_guard guard(lock_);
  for (uint8_t index = 1; index < kSlotCount; ++index) {
    if (slots_[index].device) continue;
    attach(index, std::move(device));
    const uint64_t saved_mmio = next_mmio_, saved_io = next_io_;
    try {
      assign_bars(index);
      wire_intx(index);
    } catch (...) {
      // Leave the bus as it was: no half-placed device behind a start-up error.
      Slot& slot = slots_[index];
      for (auto& mapped : slot.mapped) {
        if (mapped) (void)(mapped->io ? pio_ : mmio_).remove(mapped->address);
      }
      slot = Slot{};
      next_mmio_ = saved_mmio;
      next_io_ = saved_io;
      throw;
    }
    record_power_on(slots_[index]);
    report_bars(slots_[index]);
    return index;
  }
  throw ConfigError(fmt::format("PCI bus 0 is full ({} device slots)", kSlotCount - 1));
}

void PciHostBridge::assign_bars(uint8_t index) {
  Slot& slot = slots_[index];
  PciDevice& device = *slot.device;
  uint16_t command = 0;
  const auto layout = device.bar_layout();
  for (uint8_t bar = 0; bar < kPciBarCount; ++bar) {
    const PciBarInfo& info = layout[bar];
    const bool io = info.kind == PciBarKind::io;
    if (!io && info.kind != PciBarKind::memory32 && info.kind != PciBarKind::memory64) continue;
    uint64_t& next = io ? next_io_ : next_mmio_;
    const uint64_t end = io ? kIoWindowEnd : kMmioWindowEnd;
    const uint64_t alignment = io ? info.size : std::max(info.size, kMinMemoryBarAlignment);
    const uint64_t address = (next + alignment - 1) & ~(alignment - 1);
    if (address < next || address > end || info.size > end - address) {
      throw ConfigError(fmt::format("PCI {:02x}:00.0 BAR {}: no room for {:#x} bytes in the {} window", index, bar,
                                    info.size, io ? "I/O" : "MMIO"));
    }
    next = address + info.size;
    const uint32_t low = static_cast<uint32_t>(address);
    device.config_write(static_cast<uint16_t>(pci_reg::kBar0 + 4 * bar), std::as_bytes(std::span(&low, 1)));
    if (info.kind == PciBarKind::memory64) {
      const uint32_t high = static_cast<uint32_t>(address >> 32);
      device.config_write(static_cast<uint16_t>(pci_reg::kBar0 + 4 * bar + 4), std::as_bytes(std::span(&high, 1)));
    }
    command |= io ? pci_reg::kCommandIo : pci_reg::kCommandMemory;
  }
  if (command == 0) return;
  uint16_t current = 0;
  device.config_read(pci_reg::kCommand, std::as_writable_bytes(std::span(&current, 1)));
  current |= command;
  device.config_write(pci_reg::kCommand, std::as_bytes(std::span(&current, 1)));
  update_bar_mappings(slot);
  for (uint8_t bar = 0; bar < kPciBarCount; ++bar) {
    if (slot.windows[bar] && !slot.mapped[bar]) {
      throw ConfigError(fmt::format("PCI {:02x}:00.0 BAR {} overlaps another device", index, bar));
    }
  }
}

void PciHostBridge::record_power_on(Slot& slot) noexcept {
  PciDevice& device = *slot.device;
  for (uint8_t bar = 0; bar < kPciBarCount; ++bar) {
    device.config_read(static_cast<uint16_t>(pci_reg::kBar0 + 4 * bar),
                       std::as_writable_bytes(std::span(&slot.power_on.bars[bar], 1)));
  }
  device.config_read(pci_reg::kCommand, std::as_writable_bytes(std::span(&slot.power_on.command, 1)));
  device.config_read(pci_reg::kInterruptLine, std::as_writable_bytes(std::span(&slot.power_on.interrupt_line, 1)));
}

void PciHostBridge::reset() noexcept {
  std::lock_guard guard(lock_);
  config_address_ = 0;
  for (Slot& slot : slots_) {
    if (!slot.device) continue;
    PciDevice& device = *slot.device;
    device.reset();
    // What add_device() programmed, as firmware would after a reset: the
    // same BAR addresses, Interrupt Line and decode bits.
    for (uint8_t bar = 0; bar < kPciBarCount; ++bar) {
      device.config_write(static_cast<uint16_t>(pci_reg::kBar0 + 4 * bar),
                          std::as_bytes(std::span(&slot.power_on.bars[bar], 1)));
    }
    device.config_write(pci_reg::kInterruptLine, std::as_bytes(std::span(&slot.power_on.interrupt_line, 1)));
    device.config_write(pci_reg::kCommand, std::as_bytes(std::span(&slot.power_on.command, 1)));
    update_bar_mappings(slot);
  }
}

void PciHostBridge::wire_intx(uint8_t index) {
  PciDevice& device = *slots_[index].device;
  uint8_t pin = 0;
  device.config_read(pci_reg::kInterruptPin, std::as_writable_bytes(std::span(&pin, 1)));
  const uint32_t gsi = intx_gsi(index, pin);
  if (!interrupts_ || gsi == 0) return;
  // Each device gets a line of its own even where slots share an input:
  // KVM ORs level irqfds on one GSI through the shared resampler.
  std::shared_ptr<IrqLine> line = interrupts_->level_line(gsi);
  const uint8_t line_register = static_cast<uint8_t>(gsi);
  device.config_write(pci_reg::kInterruptLine, std::as_bytes(std::span(&line_register, 1)));
  device.connect_intx(std::move(line));
}

void PciHostBridge::report_bars(Slot& slot) noexcept {
  const PciBarRegions decoded = slot.device->decoded_bars();
  // Only what is mapped: a BAR that decodes at an address the bridge
  // refused (outside its window, overlapping) is not reachable, and a
  // device must not put doorbells there.
  PciBarRegions mapped{};
  for (uint8_t bar = 0; bar < kPciBarCount; ++bar) {
    if (slot.mapped[bar]) mapped[bar] = decoded[bar];
  }
  if (slot.reported == mapped) return;
  slot.reported = mapped;
  slot.device->bars_changed(mapped);
}

void PciHostBridge::update_bar_mappings(Slot& slot) noexcept {
  const PciBarRegions regions = slot.device->decoded_bars();
  for (uint8_t bar = 0; bar < kPciBarCount; ++bar) {
    std::optional<Mapped> wanted;
    if (slot.windows[bar] && regions[bar] && regions[bar]->address != 0) {
      if (placement_ok(*regions[bar])) {
        wanted = Mapped{regions[bar]->io, regions[bar]->address};
      } else {
        log_guest("BAR placed outside its window; not mapped", regions[bar]->address, regions[bar]->size);
      }
    }
    std::optional<Mapped>& current = slot.mapped[bar];
    if (current && wanted && current->io == wanted->io && current->address == wanted->address) continue;
    if (!current && !wanted) continue;
    if (current) {
      (void)(current->io ? pio_ : mmio_).remove(current->address);
      current.reset();
    }
    if (!wanted) continue;
    // Named as query-pci shows the function, for exit statistics.
    std::string name = fmt::format("PCI 00:{:02x}.0 BAR{}", &slot - slots_.data(), bar);
    if ((wanted->io ? pio_ : mmio_).insert(wanted->address, regions[bar]->size, slot.windows[bar], std::move(name))) {
      current = wanted;
    } else {
      log_guest("BAR overlaps another device; not mapped", wanted->address, regions[bar]->size);
    }
  }
  if (slot.reported) report_bars(slot);
}

void PciHostBridge::log_guest(const char* what, uint64_t a, uint64_t b) noexcept {
  const auto now = std::chrono::steady_clock::now();
  if (now - log_window_ >= std::chrono::seconds(1)) {
    log_window_ = now;
    log_lines_ = 0;
  }
  if (log_lines_++ < 5) spdlog::warn("pci: {} (address {:#x}, size {:#x})", what, a, b);
}

void PciHostBridge::config_read(uint8_t slot, uint8_t function, uint16_t offset, std::span<std::byte> data) noexcept {
  std::lock_guard guard(lock_);
  if (slot >= kSlotCount || function != 0 || !slots_[slot].device || offset >= kPciConfigSpaceSize ||
      data.size() > kPciConfigSpaceSize - offset) {
    return fill_ones(data);
  }
  slots_[slot].device->config_read(offset, data);
}

std::shared_ptr<PciDevice> PciHostBridge::device_at(uint8_t slot) {
  std::lock_guard guard(lock_);
  if (slot >= kSlotCount) return nullptr;
  return slots_[slot].device;
}

void PciHostBridge::config_write(uint8_t slot, uint8_t function, uint16_t offset,
                                 std::span<const std::byte> data) noexcept {
  std::lock_guard guard(lock_);
  if (slot >= kSlotCount || function != 0 || !slots_[slot].device || offset >= kPciConfigSpaceSize ||
      data.size() > kPciConfigSpaceSize - offset) {
    return;
  }
  slots_[slot].device->config_write(offset, data);
  update_bar_mappings(slots_[slot]);
}

void PciHostBridge::port_read(uint64_t offset, std::span<std::byte> data) noexcept {
  if (offset == kResetPortOffset && data.size() == 1) {
    if (reset_port_) return reset_port_->read(0, data);
    return fill_ones(data);
  }
  if (offset == 0 && data.size() == 4) {
    uint32_t value;
    {
      std::lock_guard guard(lock_);
      value = config_address_;
    }
    std::memcpy(data.data(), &value, 4);
    return;
  }
  if (offset < kDataOffset || offset + data.size() > kConfigPortCount) return fill_ones(data);
  uint32_t address;
  {
    std::lock_guard guard(lock_);
    address = config_address_;
  }
  const uint8_t bus = static_cast<uint8_t>(address >> 16);
  if (!(address & kConfigEnable) || bus != 0) return fill_ones(data);
  const uint16_t reg = static_cast<uint16_t>((address & 0xFC) + (offset - kDataOffset));
  config_read(static_cast<uint8_t>((address >> 11) & 0x1F), static_cast<uint8_t>((address >> 8) & 0x7), reg, data);
}

void PciHostBridge::port_write(uint64_t offset, std::span<const std::byte> data) noexcept {
  if (offset == kResetPortOffset && data.size() == 1) {
    if (reset_port_) reset_port_->write(0, data);
    return;
  }
  if (offset == 0 && data.size() == 4) {
    uint32_t value;
    std::memcpy(&value, data.data(), 4);
    std::lock_guard guard(lock_);
    config_address_ = value & kConfigAddressWritable;
    return;
  }
  // Byte/word writes at 0xCF8/0xCFA do not touch CONFIG_ADDRESS (i440FX).
  if (offset < kDataOffset || offset + data.size() > kConfigPortCount) return;
  uint32_t address;
  {
    std::lock_guard guard(lock_);
    address = config_address_;
  }
  const uint8_t bus = static_cast<uint8_t>(address >> 16);
  if (!(address & kConfigEnable) || bus != 0) return;
  const uint16_t reg = static_cast<uint16_t>((address & 0xFC) + (offset - kDataOffset));
  config_write(static_cast<uint8_t>((address >> 11) & 0x1F), static_cast<uint8_t>((address >> 8) & 0x7), reg, data);
}

}  // namespace keel::devices
