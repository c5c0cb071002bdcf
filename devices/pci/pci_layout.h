// Where PCI lives in the guest's address spaces. Header-only so the firmware
// tables (MCFG, E820, DSDT) and the PCI code use the same numbers and cannot
// disagree.
#pragma once

#include <cstdint>

#include "keel/guest_memory.h"

namespace keel::devices::pci_layout {

// Configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2): CONFIG_ADDRESS
// dword at 0xCF8, CONFIG_DATA at 0xCFC-0xCFF. The bridge claims the whole
// 0xCF8-0xCFF range; byte accesses at 0xCF9 go to the PIIX reset control
// register.
inline constexpr uint16_t kConfigAddressPort = 0xCF8;
inline constexpr uint16_t kConfigDataPort = 0xCFC;
inline constexpr uint16_t kConfigPortCount = 8;

// ECAM (PCIe base spec 7.2.2): 1 MiB per bus, 4 KiB per function. keel has
// only bus 0, so the window is 1 MiB. It sits above the 32-bit BAR window so
// the hole [kPciHoleStart, kEcamBase) is one contiguous range for BARs.
inline constexpr uint64_t kEcamBase = 0xE000'0000;
inline constexpr uint8_t kEcamFirstBus = 0;
inline constexpr uint8_t kEcamLastBus = 0;
inline constexpr uint64_t kEcamBytesPerBus = 1u << 20;
inline constexpr uint64_t kEcamSize = kEcamBytesPerBus * (kEcamLastBus - kEcamFirstBus + 1);
inline constexpr uint16_t kEcamSegment = 0;

// Where 32-bit memory BARs may live: the PCI hole below the ECAM window.
inline constexpr uint64_t kMmioWindowStart = layout::kPciHoleStart;
inline constexpr uint64_t kMmioWindowEnd = kEcamBase;  // exclusive

// Where I/O BARs may live, and where keel places them at build time
// (from 0xC000, as Firecracker/QEMU's SeaBIOS do). Below 0xD00 are the
// legacy ISA ports and the config ports themselves.
inline constexpr uint64_t kIoWindowStart = 0x0D00;
inline constexpr uint64_t kIoWindowEnd = 0x1'0000;  // exclusive
inline constexpr uint64_t kIoAllocationStart = 0xC000;

inline constexpr uint8_t kSlotCount = 32;  // device numbers 0..31; 0 is the host bridge

// INTx routing. keel has no interrupt router (no PIRQ links): every INTx pin
// is wired straight to an IOAPIC input above the 16 ISA ones (KVM's IOAPIC
// has 24 pins). The eight inputs 16..23 are shared by rotating the pin with
// the slot, the usual PCI swizzle (PCI-to-PCI Bridge spec 1.2, 9.1), so
// INTA# of neighbouring slots lands on different inputs:
//   gsi = 16 + ((slot + pin - 1) % 8),  slot 0..31, pin 1..4 = INTA#..INTD#
// (slot 1 INTA# -> 17, slot 7 INTA# -> 23, slot 8 INTA# -> 16). The host
// bridge writes the result into the Interrupt Line register and the DSDT's
// _PRT lists the same table, both through this function. Returns 0 (no
// input) for a pin outside 1..4 or a slot outside the bus.
inline constexpr uint32_t kIntxFirstGsi = 16;
inline constexpr uint32_t kIntxGsiCount = 8;
inline constexpr uint32_t kIoApicPins = 24;

constexpr uint32_t intx_gsi(uint8_t slot, uint8_t pin) {
  if (slot >= kSlotCount || pin < 1 || pin > 4) return 0;
  return kIntxFirstGsi + ((uint32_t{slot} + pin - 1) % kIntxGsiCount);
}

static_assert(intx_gsi(1, 1) == 17 && intx_gsi(7, 1) == 23 && intx_gsi(8, 1) == 16 && intx_gsi(31, 4) == 18);
static_assert(kIntxFirstGsi + kIntxGsiCount <= kIoApicPins);

static_assert(kMmioWindowStart < kMmioWindowEnd);
static_assert(kEcamBase + kEcamSize <= layout::kIoApicBase);

}  // namespace keel::devices::pci_layout
