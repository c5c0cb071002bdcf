// A small, defensive ELF reader for kernels: the ELF header, the program
// headers, the Xen PVH entry note, and loading PT_LOAD segments at their
// physical addresses. ELF32 and ELF64, little-endian, x86 only. Every offset
// and size is checked against the file before it is used.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "keel/guest_memory.h"
#include "src/boot/boot_memory.h"
#include "src/boot/image_view.h"

namespace keel::boot {

inline constexpr uint32_t kElfPtLoad = 1;
inline constexpr uint32_t kElfPtNote = 4;
inline constexpr uint16_t kElfMachine386 = 3;
inline constexpr uint16_t kElfMachineX86_64 = 62;
// Xen's public elfnote.h: the 32-bit physical entry point of a PVH kernel.
inline constexpr uint32_t kXenElfNotePhys32Entry = 18;
// More program headers than any kernel has; bounds the work on hostile input.
inline constexpr uint32_t kMaxElfProgramHeaders = 1024;

struct ElfSegment {
  uint32_t type;
  uint64_t file_offset;
  uint64_t virtual_address;
  uint64_t physical_address;
  uint64_t file_size;
  uint64_t memory_size;
  uint64_t alignment;
};

struct ElfImage {
  bool is_64bit;
  uint16_t machine;
  uint64_t entry;
  std::vector<ElfSegment> segments;  // all program headers, in file order
};

// True when the image starts with the ELF magic "\x7fELF".
bool has_elf_magic(std::span<const std::byte> image) noexcept;

// Parses and validates the ELF header and program header table: a
// little-endian x86 executable whose program headers lie inside the file and
// whose PT_LOAD segments have file_size <= memory_size and file bytes inside
// the file. Throws ConfigError naming the problem.
ElfImage parse_elf(const ImageView& image);

// The entry of the PVH note (XEN_ELFNOTE_PHYS32_ENTRY in a PT_NOTE segment,
// owner "Xen"), or nullopt when there is none. Throws ConfigError on a
// malformed note segment or an entry that does not fit in 32 bits.
std::optional<uint32_t> find_pvh_entry(const ImageView& image, const ElfImage& elf);

// The physical range [lowest p_paddr, highest p_paddr + p_memsz) covered by
// the PT_LOAD segments; ConfigError when there are none.
GuestRange elf_load_footprint(const ImageView& image, const ElfImage& elf);

// Checks every PT_LOAD segment with check_kernel_range(), then copies each
// to its physical address and zero-fills memory_size beyond file_size.
void load_elf_segments(GuestMemory& memory, const ImageView& image, const ElfImage& elf);

// e_entry as a physical address: translated through the PT_LOAD segment
// whose virtual range holds it (the kernel starts with paging off), else
// unchanged.
uint64_t elf_physical_entry(const ElfImage& elf) noexcept;

}  // namespace keel::boot
