// The interface of a PCI function: a 4 KiB configuration space and up to six
// BARs addressed by (bar, offset), so a BAR can move on the bus without the
// device knowing where it is (style.md principle 2). Separate from BusDevice:
// the host bridge and small BAR windows adapt between the two.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <memory>
#include <span>

#include "keel/irq_line.h"

namespace keel::devices {

inline constexpr size_t kPciConfigSpaceSize = 4096;
inline constexpr uint8_t kPciBarCount = 6;

enum class PciBarKind : uint8_t {
  none,        // not implemented: reads 0, writes ignored
  io,          // I/O space
  memory32,    // 32-bit memory
  memory64,    // low dword of a 64-bit memory BAR; the next BAR is its upper half
  memory64_upper,
};

// What a BAR is, as the device implements it.
struct PciBarInfo {
  PciBarKind kind = PciBarKind::none;
  uint64_t size = 0;  // a power of two; 0 for none / upper halves
  bool prefetchable = false;
};

// Where a BAR currently is, for a BAR whose decode bit is on.
struct PciBarRegion {
  bool io = false;  // else memory
  uint64_t address = 0;
  uint64_t size = 0;
  friend bool operator==(const PciBarRegion&, const PciBarRegion&) = default;
};

using PciBarRegions = std::array<std::optional<PciBarRegion>, kPciBarCount>;

// Calls come from vCPU threads. Config accesses are serialized by the host
// bridge; BAR accesses may come concurrently, so a device guards its own
// state. `offset + data.size()` never exceeds kPciConfigSpaceSize for config
// accesses, nor the BAR size for BAR accesses.
class PciDevice {
 public:
  virtual ~PciDevice() = default;
  virtual void config_read(uint16_t offset, std::span<std::byte> data) noexcept = 0;
  virtual void config_write(uint16_t offset, std::span<const std::byte> data) noexcept = 0;
  virtual void bar_read(uint8_t bar, uint64_t offset, std::span<std::byte> data) noexcept = 0;
  virtual void bar_write(uint8_t bar, uint64_t offset, std::span<const std::byte> data) noexcept = 0;

  // The BARs the device implements (fixed for its lifetime).
  virtual std::array<PciBarInfo, kPciBarCount> bar_layout() const noexcept = 0;
  // The BARs that decode right now: programmed address and size of every
  // BAR whose command-register decode bit (I/O or memory) is on.
  virtual PciBarRegions decoded_bars() const noexcept = 0;

  // Called by the host bridge (with its lock held) after it added, moved or
  // removed any of this device's BAR windows on the buses; `decoded` is what
  // decodes now. Devices with doorbells at BAR addresses re-register them.
  virtual void bars_changed(const PciBarRegions& decoded) noexcept { (void)decoded; }
  // Called once by the host bridge's add_device() for a device whose
  // interrupt pin register is non-zero: the level line its INTx pin is
  // wired to (an IOAPIC input, see pci_layout::intx_gsi).
  virtual void connect_intx(std::shared_ptr<IrqLine> line) noexcept { (void)line; }
  // Machine reset (called by PciHostBridge::reset() with its lock held):
  // configuration space, MSI/MSI-X state, INTx and the function itself back
  // to power-on. The bridge then programs the BARs and Interrupt Line as at
  // start-up. Must not wait for guest-driven I/O (cancel it or let it
  // finish later, as a driver-initiated reset does). Both device models in
  // keel (virtio-pci, e1000) implement it; the default is for functions
  // with no state of their own (test doubles).
  virtual void reset() noexcept {}
};

}  // namespace keel::devices
