#include "src/boot/boot_cpu_state.h"

#include <array>

#include <fmt/format.h>

#include "keel/config_error.h"

#include "src/boot/boot_layout.h"
#include "src/boot/boot_memory.h"

namespace keel::boot {

void write_gdt(GuestMemory& memory, EntryMode mode, BootEntry& entry) {
  // Entries 0 and 1 stay null so that the selectors match Linux's
  // boot GDT (__BOOT_CS = 0x10, __BOOT_DS = 0x18).
  const std::array<uint64_t, layout::kGdtEntries> gdt{
      0,
      0,
      mode == EntryMode::long_mode_64 ? kGdtCode64 : kGdtCode32,
      kGdtData,
  };
  static_assert(BootEntry::kCodeSelector == 2 * 8 && BootEntry::kDataSelector == 3 * 8);
  write_guest_obj(memory, layout::kGdtAddress, gdt, "the GDT");
  entry.gdt_base = layout::kGdtAddress;
  entry.gdt_limit = static_cast<uint16_t>(sizeof(gdt) - 1);
}

void write_identity_page_tables(GuestMemory& memory, BootEntry& entry) {
  constexpr uint64_t kEntries = 512;
  constexpr uint64_t kTwoMiB = 2ull << 20;
  constexpr uint64_t kDirectories = 4;  // 4 x 1 GiB = the first 4 GiB
  constexpr uint64_t kTableFlags = kPtePresent | kPteWritable;

  std::array<uint64_t, kEntries> table{};
  table[0] = layout::kPdptAddress | kTableFlags;
  write_guest_obj(memory, layout::kPml4Address, table, "the PML4");

  table.fill(0);
  for (uint64_t i = 0; i < kDirectories; ++i) {
    table[i] = (layout::kPageDirectoryAddress + i * layout::kPageSize) | kTableFlags;
  }
  write_guest_obj(memory, layout::kPdptAddress, table, "the PDPT");

  for (uint64_t dir = 0; dir < kDirectories; ++dir) {
    for (uint64_t i = 0; i < kEntries; ++i) {
      table[i] = ((dir * kEntries + i) * kTwoMiB) | kTableFlags | kPteLargePage;
    }
    write_guest_obj(memory, layout::kPageDirectoryAddress + dir * layout::kPageSize, table, "a page directory");
  }
  entry.cr3 = layout::kPml4Address;
}

void write_boot_cpu_state(GuestMemory& memory, BootEntry& entry) {
  write_gdt(memory, entry.mode, entry);
  if (entry.mode == EntryMode::long_mode_64) {
    write_identity_page_tables(memory, entry);
  } else {
    entry.cr3 = 0;
  }
  // The stack is there only for a kernel that pushes before it sets up its
  // own (Multiboot and PVH leave ESP undefined); it must at least be RAM.
  if (!memory.contains(Gpa{layout::kBootStackTop - layout::kPageSize}, layout::kPageSize)) {
    throw ConfigError(fmt::format("guest RAM too small for the boot stack below {:#x}", layout::kBootStackTop));
  }
  entry.rsp = layout::kBootStackTop;
}

}  // namespace keel::boot
