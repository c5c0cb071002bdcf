// The PVH boot ABI (Xen's docs/misc/pvh.pandoc and public
// arch-x86/hvm/start_info.h), as Linux, FreeBSD and Firecracker use it: an
// ELF kernel with a XEN_ELFNOTE_PHYS32_ENTRY note is loaded by its program
// headers and entered in 32-bit protected mode, paging off, with
// ebx = struct hvm_start_info.
#pragma once

#include <cstdint>

#include "keel/guest_memory.h"
#include "src/boot/boot.h"
#include "src/boot/elf_reader.h"
#include "src/boot/image_view.h"
#include "src/boot/load_request.h"

namespace keel::boot {

namespace pvh_abi {
inline constexpr uint32_t kStartInfoMagic = 0x336E'C578;
inline constexpr uint32_t kStartInfoVersion = 1;  // version 1 adds the memory map

struct StartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;  // version 1
  uint32_t memmap_entries;
  uint32_t reserved;
};
static_assert(sizeof(StartInfo) == 56);

struct ModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
static_assert(sizeof(ModlistEntry) == 32);

struct MemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;  // E820 type values
  uint32_t reserved;
};
static_assert(sizeof(MemmapEntry) == 24);
}  // namespace pvh_abi

// `entry` is the value of the PVH note (find_pvh_entry()).
BootEntry load_pvh(GuestMemory& memory, const ImageView& image, const ElfImage& elf, uint32_t entry,
                   const LoadRequest& request);

}  // namespace keel::boot
