// Multiboot v1 (specification 0.6.96): a kernel with a Multiboot header in
// its first 8 KiB, loaded by its ELF32 program headers or by the header's
// address fields (the "a.out kludge", flag 16), and entered in 32-bit
// protected mode, paging off, with EAX = 0x2BADB002 and EBX = the
// Multiboot information block.
#pragma once

#include <cstdint>
#include <optional>

#include "keel/guest_memory.h"
#include "src/boot/boot.h"
#include "src/boot/elf_reader.h"
#include "src/boot/image_view.h"
#include "src/boot/load_request.h"

namespace keel::boot {

namespace multiboot_abi {
inline constexpr uint32_t kHeaderMagic = 0x1BAD'B002;
inline constexpr uint32_t kBootloaderMagic = 0x2BAD'B002;  // in EAX at entry
inline constexpr uint64_t kSearchLimit = 8192;
inline constexpr uint64_t kHeaderSize = 12;             // magic, flags, checksum
inline constexpr uint64_t kHeaderSizeWithAddresses = 32;  // + the flag-16 fields

// Header flags. Bits 0-15 are requirements a loader must meet or refuse.
inline constexpr uint32_t kFlagPageAlignModules = 1u << 0;
inline constexpr uint32_t kFlagMemoryInfo = 1u << 1;
inline constexpr uint32_t kFlagVideoMode = 1u << 2;
inline constexpr uint32_t kFlagAddressFields = 1u << 16;
inline constexpr uint32_t kRequiredFlagsMask = 0xFFFF;

// Information block flags.
inline constexpr uint32_t kInfoMemory = 1u << 0;
inline constexpr uint32_t kInfoCmdline = 1u << 2;
inline constexpr uint32_t kInfoModules = 1u << 3;
inline constexpr uint32_t kInfoMemoryMap = 1u << 6;
inline constexpr uint32_t kInfoLoaderName = 1u << 9;

struct Info {
  uint32_t flags;
  uint32_t mem_lower;  // KiB from 0
  uint32_t mem_upper;  // KiB from 1 MiB up to the first hole
  uint32_t boot_device;
  uint32_t cmdline;
  uint32_t mods_count;
  uint32_t mods_addr;
  uint32_t syms[4];
  uint32_t mmap_length;  // bytes
  uint32_t mmap_addr;
  uint32_t drives_length;
  uint32_t drives_addr;
  uint32_t config_table;
  uint32_t boot_loader_name;
  uint32_t apm_table;
  uint32_t vbe_control_info;
  uint32_t vbe_mode_info;
  uint16_t vbe_mode;
  uint16_t vbe_interface_seg;
  uint16_t vbe_interface_off;
  uint16_t vbe_interface_len;
};
static_assert(sizeof(Info) == 88);

struct Module {
  uint32_t mod_start;
  uint32_t mod_end;  // exclusive
  uint32_t string;
  uint32_t reserved;
};
static_assert(sizeof(Module) == 16);

// Memory-map entries are packed: u32 size (= 20, the bytes that follow),
// u64 base_addr, u64 length, u32 type.
inline constexpr uint64_t kMmapEntrySize = 24;
inline constexpr uint32_t kMmapEntrySizeField = 20;
}  // namespace multiboot_abi

struct MultibootHeader {
  uint64_t file_offset;
  uint32_t flags;
  // Valid when flags has kFlagAddressFields.
  uint32_t header_addr;
  uint32_t load_addr;
  uint32_t load_end_addr;  // 0: load to the end of the file
  uint32_t bss_end_addr;   // 0: no bss
  uint32_t entry_addr;
};

// The first 4-byte-aligned Multiboot header with a valid checksum in the
// first 8 KiB, or nullopt. Throws ConfigError when headers are present but
// none has a valid checksum, or when the address fields run past 8 KiB.
std::optional<MultibootHeader> find_multiboot_header(const ImageView& image);

// `elf` is the parsed ELF image when the file is ELF (used unless the header
// has the address fields), else null.
BootEntry load_multiboot(GuestMemory& memory, const ImageView& image, const MultibootHeader& header,
                         const ElfImage* elf, const LoadRequest& request);

}  // namespace keel::boot
