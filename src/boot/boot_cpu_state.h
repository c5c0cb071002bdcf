// The CPU-side boot data every format needs: a GDT with flat code (0x10) and
// data (0x18) descriptors, as Linux's boot protocol asks (__BOOT_CS,
// __BOOT_DS), and for 64-bit entry an identity map of the first 4 GiB.
#pragma once

#include <cstdint>

#include "keel/guest_memory.h"
#include "src/boot/boot.h"

namespace keel::boot {

// Raw descriptors (flat: base 0, limit 0xFFFFF pages, present, DPL 0).
inline constexpr uint64_t kGdtCode64 = 0x00AF'9B00'0000'FFFF;  // L=1, D=0, exec/read, accessed
inline constexpr uint64_t kGdtCode32 = 0x00CF'9B00'0000'FFFF;  // D=1, exec/read, accessed
inline constexpr uint64_t kGdtData = 0x00CF'9300'0000'FFFF;    // D/B=1, read/write, accessed

// Page-table entry bits used by the identity map.
inline constexpr uint64_t kPtePresent = 1u << 0;
inline constexpr uint64_t kPteWritable = 1u << 1;
inline constexpr uint64_t kPteLargePage = 1u << 7;  // PS: a 2 MiB page in a page directory

// Writes the GDT at layout::kGdtAddress (code descriptor for `mode`) and
// fills entry.gdt_base / gdt_limit / rsp. Throws ConfigError if RAM is missing.
void write_gdt(GuestMemory& memory, EntryMode mode, BootEntry& entry);

// Writes PML4, PDPT and 4 page directories mapping [0, 4 GiB) 1:1 with
// 2 MiB pages (never 1 GiB pages: PVM hosts fault on them) and sets
// entry.cr3.
void write_identity_page_tables(GuestMemory& memory, BootEntry& entry);

// Both of the above as `mode` needs them, plus the boot stack pointer.
void write_boot_cpu_state(GuestMemory& memory, BootEntry& entry);

}  // namespace keel::boot
