// The Intel MultiProcessor Specification 1.4 tables: for guests (and Linux
// with acpi=off) that find CPUs and interrupt routing without ACPI.
#pragma once

#include <cstdint>

#include "src/firmware/byte_writer.h"

namespace keel::firmware::mp {

inline constexpr size_t kFloatingPointerSize = 16;

// The MP configuration table: header, one processor entry per CPU (APIC IDs
// 0..n-1, CPU 0 the bootstrap processor), the ISA bus, the IOAPIC (ID
// cpu_count), ISA IRQ routing (IRQ0 -> pin 2, others identity) and the
// local interrupts (ExtINT on LINT0, NMI on LINT1).
Bytes build_config_table(uint32_t cpu_count);

// The 16-byte floating pointer structure pointing at the configuration table.
Bytes build_floating_pointer(uint64_t config_table_address);

}  // namespace keel::firmware::mp
