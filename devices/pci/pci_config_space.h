// A type-0 PCI configuration header with the register semantics hardware
// has (PCI Local Bus 3.0 chapter 6): per-byte write masks so the guest can
// change only what a real device lets it change, write-1-to-clear status
// bits, BARs that report their size when written with all-ones, and a
// capability list at 0x40+. Devices embed one and forward config accesses.
// Not thread-safe: the owner serializes (the host bridge does), except for
// the INTx helpers set_interrupt_status() / intx_disabled(), which a device
// may call from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

#include "devices/pci/pci_device.h"

namespace keel::devices {

namespace pci_reg {
inline constexpr uint16_t kVendorId = 0x00;
inline constexpr uint16_t kDeviceId = 0x02;
inline constexpr uint16_t kCommand = 0x04;
inline constexpr uint16_t kStatus = 0x06;
inline constexpr uint16_t kRevision = 0x08;
inline constexpr uint16_t kClassCode = 0x09;  // prog-if, subclass, base class
inline constexpr uint16_t kCacheLineSize = 0x0C;
inline constexpr uint16_t kLatencyTimer = 0x0D;
inline constexpr uint16_t kHeaderType = 0x0E;
inline constexpr uint16_t kBar0 = 0x10;
inline constexpr uint16_t kSubsystemVendorId = 0x2C;
inline constexpr uint16_t kSubsystemId = 0x2E;
inline constexpr uint16_t kExpansionRom = 0x30;
inline constexpr uint16_t kCapabilitiesPointer = 0x34;
inline constexpr uint16_t kInterruptLine = 0x3C;
inline constexpr uint16_t kInterruptPin = 0x3D;
inline constexpr uint16_t kFirstCapability = 0x40;
inline constexpr uint16_t kLegacyConfigEnd = 0x100;  // capabilities live below this

inline constexpr uint16_t kCommandIo = 1u << 0;
inline constexpr uint16_t kCommandMemory = 1u << 1;
inline constexpr uint16_t kCommandBusMaster = 1u << 2;
inline constexpr uint16_t kCommandParityResponse = 1u << 6;
inline constexpr uint16_t kCommandSerr = 1u << 8;
inline constexpr uint16_t kCommandIntxDisable = 1u << 10;

// Interrupt Status (PCI 3.0 6.2.3): the function's INTx# is asserted
// (regardless of Interrupt Disable). Read-only to the guest.
inline constexpr uint16_t kStatusInterrupt = 1u << 3;
inline constexpr uint16_t kStatusCapabilities = 1u << 4;
// Error bits: master data parity, signaled/received target abort, received
// master abort, signaled system error, detected parity error. All RW1C.
inline constexpr uint16_t kStatusW1cBits = (1u << 8) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) | (1u << 15);

inline constexpr uint32_t kBarIoSpace = 1u << 0;
inline constexpr uint32_t kBarMemory64 = 0b10u << 1;
inline constexpr uint32_t kBarPrefetchable = 1u << 3;
}  // namespace pci_reg

struct PciIdentity {
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint8_t revision = 0;
  uint32_t class_code = 0;  // 24 bits: base class << 16 | subclass << 8 | prog-if
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_id = 0;
  uint8_t interrupt_pin = 0;  // 0 = none, 1..4 = INTA#..INTD#
};

class PciConfigSpace {
 public:
  explicit PciConfigSpace(const PciIdentity& identity) noexcept;

  // Start-up configuration; throw ConfigError on an impossible layout.
  // Memory BARs are at least 16 bytes, I/O BARs 4..256 bytes, sizes powers
  // of two; a 64-bit BAR takes `index` and `index + 1`.
  void add_bar(uint8_t index, const PciBarInfo& bar);
  // Appends a capability (id, next pointer, then `body`) at the next free
  // dword-aligned offset at or above 0x40 and links it at the end of the
  // list; `body_write_mask` (same length as `body`) says which body bits
  // the guest may change. Returns the capability's offset.
  uint16_t add_capability(uint8_t id, std::span<const uint8_t> body, std::span<const uint8_t> body_write_mask);

  // Guest accesses: any span inside the 4 KiB space (others are ignored /
  // read all-ones). Bytes beyond 0x100 read 0 unless a device defines them.
  void read(uint16_t offset, std::span<std::byte> data) const noexcept;
  void write(uint16_t offset, std::span<const std::byte> data) noexcept;

  // Device-side access to its own registers (ignores write masks).
  uint32_t read_dword(uint16_t offset) const noexcept;
  void set_dword(uint16_t offset, uint32_t value) noexcept;

  uint16_t command() const noexcept;
  // Function reset (PCI 3.0 6.2.2): every bit the guest can write (write
  // mask) or clear (RW1C) goes back to 0 -- Command, the error bits of
  // Status, BAR addresses, Interrupt Line, capability control fields --
  // and Interrupt Status clears. What only the device sets (IDs, BAR flag
  // bits, the capability list) stays. A device that keeps capability
  // state outside these bytes (MSI, MSI-X) resets that itself.
  void reset() noexcept;

  // INTx state (PCI 3.0 6.2.2, 6.2.3). A device reports whether its INTx#
  // is asserted; Status bit 3 shows it to the guest. The device drives its
  // line at `asserted && !intx_disabled()` and re-evaluates after config
  // writes (the guest may flip Interrupt Disable, Command bit 10). Both are
  // safe from any thread: they use atomics, not the register bytes.
  void set_interrupt_status(bool asserted) noexcept;
  bool interrupt_status() const noexcept;
  bool intx_disabled() const noexcept;
  const std::array<PciBarInfo, kPciBarCount>& bar_layout() const noexcept { return bars_; }
  PciBarRegions decoded_bars() const noexcept;
  // The programmed address of BAR `index` (flag bits stripped; both halves
  // for a 64-bit BAR), whether or not it decodes.
  uint64_t bar_address(uint8_t index) const noexcept;

 private:
  void set_bytes(uint16_t offset, uint64_t value, size_t count) noexcept;
  void set_mask(uint16_t offset, uint64_t mask, size_t count) noexcept;

  std::array<uint8_t, kPciConfigSpaceSize> bytes_{};
  std::array<uint8_t, kPciConfigSpaceSize> write_mask_{};
  std::array<uint8_t, kPciConfigSpaceSize> w1c_mask_{};
  std::array<PciBarInfo, kPciBarCount> bars_{};
  void update_command_mirror() noexcept;

  std::atomic<bool> interrupt_status_{false};  // merged into Status reads
  std::atomic<bool> intx_disabled_{false};     // mirrors Command bit 10
  uint16_t last_capability_ = 0;  // 0: list empty
  uint16_t next_capability_ = pci_reg::kFirstCapability;
};

}  // namespace keel::devices
