// Firmware tables a PC guest looks for: ACPI (RSDP, XSDT, RSDT, MADT, FADT,
// MCFG, DSDT, FACS) and an Intel MP table, written into the BIOS area below 1 MiB
// where guests scan for them, plus the E820 map that describes guest memory.
// The ACPI tables describe fixed (not hardware-reduced) ACPI hardware: the PM
// register block of devices/acpi at I/O 0x600, SCI on IRQ 9, and reset via
// port 0xCF9 (all from devices/acpi/pm_registers.h).
#pragma once

#include <cstdint>
#include <vector>

#include "keel/guest_memory.h"

namespace keel::firmware {

enum class E820Type : uint32_t { ram = 1, reserved = 2, acpi = 3, nvs = 4 };

struct E820Entry {
  uint64_t address;
  uint64_t size;
  E820Type type;
};

// The E820 map for `memory` (sorted, non-overlapping): usable RAM
// [0, kEbdaStart), reserved [kEbdaStart, 0xA0000), reserved
// [kBiosRomStart, 1 MiB) holding the tables below, usable RAM from 1 MiB to
// the end of low RAM, usable high RAM above 4 GiB if any, and reserved
// entries for the PCI ECAM window and the IOAPIC and local APIC pages.
std::vector<E820Entry> build_e820_map(const GuestMemory& memory);

struct FirmwareTables {
  uint64_t rsdp_address;      // for boot_params.acpi_rsdp_addr
  uint64_t mp_floating_address;
  uint64_t facs_address;      // the FACS (S3 waking vector), for the machine's wake path
};

// Writes the ACPI tables and MP table for `cpu_count` CPUs (APIC IDs 0..n-1),
// one IOAPIC (ID = cpu_count, GSI base 0, 24 pins) with the ISA interrupt
// source override IRQ0 -> GSI 2 (as QEMU), into [kBiosRomStart, 1 MiB).
// The region must be RAM in `memory`. Throws ConfigError if cpu_count is 0 or
// larger than kMaxCpus.
FirmwareTables write_firmware_tables(GuestMemory& memory, uint32_t cpu_count);
inline constexpr uint32_t kMaxCpus = 64;

}  // namespace keel::firmware
