// Where the boot layer puts its boot data in guest RAM. Everything lives
// below 1 MiB and clear of the EBDA/VGA/BIOS area [0x9FC00, 0x100000) that
// firmware::write_firmware_tables() and the E820 map claim:
//
//   0x00000-0x004FF  real-mode IVT and BIOS data area (left zero)
//   0x00500-0x0051F  GDT: null, null, code 0x10, data 0x18 (Linux's
//                    __BOOT_CS/__BOOT_DS); 64-bit code for long_mode_64,
//                    32-bit code for protected_mode_32
//   0x05000-0x05FFF  boot stack (rsp = 0x6000 at entry)
//   0x06000-0x060FF  Multiboot info block or PVH hvm_start_info
//   0x06100-0x061FF  module list (Multiboot modules / hvm_modlist_entry)
//   0x06200-0x06EFF  memory map (Multiboot mmap / hvm_memmap_table_entry)
//   0x06F00-0x06FFF  Multiboot boot_loader_name ("keel")
//   0x07000-0x07FFF  Linux boot_params ("zero page")
//   0x08000-0x08FFF  left free: guests use it as their AP trampoline page
//   0x09000-0x09FFF  PML4 (long_mode_64 only)
//   0x0A000-0x0AFFF  PDPT
//   0x0B000-0x0EFFF  4 page directories: first 4 GiB identity-mapped with
//                    2 MiB pages (1 GiB pages fault on PVM hosts)
//   0x20000-0x20FFF  kernel command line (NUL-terminated)
//   0x21000-0x21FFF  Multiboot module string (the initrd path)
//
// Kernel segments may not overlap [0, kBootDataEnd) nor the BIOS area; the
// initrd always goes at or above 1 MiB.
#pragma once

#include <cstdint>

namespace keel::boot::layout {

inline constexpr uint64_t kGdtAddress = 0x500;
inline constexpr uint16_t kGdtEntries = 4;
inline constexpr uint64_t kBootStackTop = 0x6000;
inline constexpr uint64_t kInfoAddress = 0x6000;
inline constexpr uint64_t kInfoMaxSize = 0x100;
inline constexpr uint64_t kModuleListAddress = 0x6100;
inline constexpr uint64_t kMemoryMapAddress = 0x6200;
inline constexpr uint64_t kMemoryMapMaxSize = 0xD00;
inline constexpr uint64_t kLoaderNameAddress = 0x6F00;
inline constexpr uint64_t kBootParamsAddress = 0x7000;
inline constexpr uint64_t kPml4Address = 0x9000;
inline constexpr uint64_t kPdptAddress = 0xA000;
inline constexpr uint64_t kPageDirectoryAddress = 0xB000;  // 4 tables, 4 KiB each
inline constexpr uint64_t kCmdlineAddress = 0x20000;
inline constexpr uint64_t kCmdlineAreaSize = 0x1000;       // holds the NUL too
inline constexpr uint64_t kModuleStringAddress = 0x21000;
inline constexpr uint64_t kModuleStringAreaSize = 0x1000;
inline constexpr uint64_t kBootDataEnd = 0x22000;

inline constexpr uint64_t kPageSize = 0x1000;

}  // namespace keel::boot::layout
