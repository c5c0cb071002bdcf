// Builders for synthetic kernel images (bzImage setup header, ELF32/ELF64
// with PVH notes or Multiboot headers, a.out-kludge Multiboot binaries),
// temporary files, and little-endian readers for checking guest memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keel/guest_memory.h"

namespace keel::boot::testing {

using Bytes = std::vector<std::byte>;

// A recognisable, position-dependent byte pattern.
Bytes pattern(size_t size, uint8_t seed);

template <class T>
void put_le(Bytes& bytes, size_t offset, T value) {
  if (bytes.size() < offset + sizeof(T)) bytes.resize(offset + sizeof(T));
  for (size_t i = 0; i < sizeof(T); ++i) {
    bytes[offset + i] = static_cast<std::byte>(static_cast<uint64_t>(value) >> (8 * i));
  }
}

uint64_t get_le(std::span<const std::byte> bytes, size_t offset, size_t width);

struct BzImageSpec {
  uint8_t setup_sects = 1;  // kernel at file offset 0x400
  uint16_t boot_flag = 0xAA55;
  uint16_t version = 0x020F;  // 2.15
  uint8_t header_length = 0x6A;  // header ends at 0x26C
  uint8_t loadflags = 0x01;      // LOADED_HIGH
  uint16_t xloadflags = 0x0001 | 0x0002;  // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
  uint8_t relocatable = 1;
  uint32_t kernel_alignment = 0x20'0000;
  uint64_t pref_address = 0x100'0000;  // 16 MiB
  uint32_t init_size = 0x80'0000;      // 8 MiB
  uint32_t initrd_addr_max = 0x37FF'FFFF;
  uint32_t cmdline_size = 2047;
  size_t kernel_size = 0x3000;
};
// A setup sector (0x1F1.. filled with recognisable values in the fields a
// loader must leave alone) and a protected-mode kernel of pattern bytes.
Bytes make_bzimage(const BzImageSpec& spec = {});

struct ElfSegmentSpec {
  uint32_t type = 1;  // PT_LOAD
  uint64_t vaddr = 0;
  uint64_t paddr = 0;
  Bytes data;
  uint64_t memsz = 0;  // 0: data.size()
  uint64_t align = 4;
};
struct ElfSpec {
  bool is_64bit = false;
  uint16_t machine = 3;
  uint64_t entry = 0;
  std::vector<ElfSegmentSpec> segments;
};
// ELF header, program headers, then each segment's data (4-byte aligned).
Bytes make_elf(const ElfSpec& spec);
// File offset at which make_elf() puts segment `index`'s data.
uint64_t elf_segment_offset(const ElfSpec& spec, size_t index);

// One ELF note (owner `name`, 4-byte padding).
Bytes make_note(const std::string& name, uint32_t type, const Bytes& desc);
// A Multiboot v1 header (12 bytes, or 32 with the address fields).
struct MultibootAddresses {
  uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};
Bytes make_multiboot_header(uint32_t flags, std::optional<MultibootAddresses> addresses = std::nullopt);

// A file in a fresh temporary directory, removed with it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::filesystem::path write(const std::string& name, std::span<const std::byte> bytes) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Guest memory contents.
Bytes read_guest(const GuestMemory& memory, uint64_t address, uint64_t size);
uint64_t read_guest_le(const GuestMemory& memory, uint64_t address, size_t width);
std::string read_guest_string(const GuestMemory& memory, uint64_t address);

}  // namespace keel::boot::testing
