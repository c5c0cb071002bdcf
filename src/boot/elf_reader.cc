#include "src/boot/elf_reader.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace keel::boot {
namespace {

// e_ident and ELF header field offsets (System V gABI).
constexpr uint64_t kEiClass = 4;
constexpr uint64_t kEiData = 5;
constexpr uint64_t kEiVersion = 6;
constexpr uint8_t kElfClass32 = 1;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfDataLittle = 1;
constexpr uint16_t kElfTypeExec = 2;
constexpr uint16_t kPnXnum = 0xFFFF;

struct HeaderLayout {
  uint64_t header_size;
  uint64_t entry, phoff, phentsize, phnum;  // field offsets
  unsigned word;                             // 4 or 8
  uint64_t phdr_size;
};
constexpr HeaderLayout kElf32{52, 24, 28, 42, 44, 4, 32};
constexpr HeaderLayout kElf64{64, 24, 32, 54, 56, 8, 56};

ElfSegment read_segment(const ImageView& image, bool is_64bit, uint64_t at) {
  constexpr std::string_view what = "program header";
  if (is_64bit) {
    return ElfSegment{
        .type = image.u32(at + 0, what),
        .file_offset = image.u64(at + 8, what),
        .virtual_address = image.u64(at + 16, what),
        .physical_address = image.u64(at + 24, what),
        .file_size = image.u64(at + 32, what),
        .memory_size = image.u64(at + 40, what),
        .alignment = image.u64(at + 48, what),
    };
  }
  return ElfSegment{
      .type = image.u32(at + 0, what),
      .file_offset = image.u32(at + 4, what),
      .virtual_address = image.u32(at + 8, what),
      .physical_address = image.u32(at + 12, what),
      .file_size = image.u32(at + 16, what),
      .memory_size = image.u32(at + 20, what),
      .alignment = image.u32(at + 28, what),
  };
}

uint64_t align_up(uint64_t value, uint64_t alignment) noexcept {
  return (value + alignment - 1) & ~(alignment - 1);  // callers keep value < 2^33
}

}  // namespace

bool has_elf_magic(std::span<const std::byte> image) noexcept {
  return image.size() >= 4 && std::memcmp(image.data(), "\x7f" "ELF", 4) == 0;
}

ElfImage parse_elf(const ImageView& image) {
  if (!has_elf_magic(image.bytes())) image.fail("not an ELF file");
  const uint8_t elf_class = image.u8(kEiClass, "ELF header");
  if (elf_class != kElfClass32 && elf_class != kElfClass64) {
    image.fail(fmt::format("unknown ELF class {}", elf_class));
  }
  if (image.u8(kEiData, "ELF header") != kElfDataLittle) image.fail("ELF image is not little-endian");
  if (image.u8(kEiVersion, "ELF header") != 1) image.fail("unknown ELF version");

  const bool is_64bit = elf_class == kElfClass64;
  const HeaderLayout& layout = is_64bit ? kElf64 : kElf32;
  if (!image.contains(0, layout.header_size)) image.fail("truncated ELF header");

  const uint16_t type = image.u16(16, "ELF header");
  if (type != kElfTypeExec) image.fail(fmt::format("ELF type {} is not an executable (ET_EXEC)", type));
  const uint16_t machine = image.u16(18, "ELF header");
  if (machine != kElfMachine386 && machine != kElfMachineX86_64) {
    image.fail(fmt::format("ELF machine {} is not x86", machine));
  }

  ElfImage elf{.is_64bit = is_64bit, .machine = machine, .entry = 0, .segments = {}};
  elf.entry = is_64bit ? image.u64(layout.entry, "ELF header") : image.u32(layout.entry, "ELF header");
  const uint64_t phoff = is_64bit ? image.u64(layout.phoff, "ELF header") : image.u32(layout.phoff, "ELF header");
  const uint16_t phentsize = image.u16(layout.phentsize, "ELF header");
  const uint16_t phnum = image.u16(layout.phnum, "ELF header");

  if (phnum == 0) image.fail("ELF image has no program headers");
  if (phnum == kPnXnum || phnum > kMaxElfProgramHeaders) {
    image.fail(fmt::format("ELF image has too many program headers ({})", phnum));
  }
  if (phentsize < layout.phdr_size) {
    image.fail(fmt::format("ELF program header size {} is smaller than {}", phentsize, layout.phdr_size));
  }
  const uint64_t table_size = uint64_t{phnum} * phentsize;  // < 2^32: cannot wrap
  if (!image.contains(phoff, table_size)) {
    image.fail(fmt::format("ELF program header table at offset {:#x} (+{:#x} bytes) lies past the end of the "
                           "file ({:#x} bytes)",
                           phoff, table_size, image.size()));
  }

  elf.segments.reserve(phnum);
  for (uint64_t i = 0; i < phnum; ++i) {
    ElfSegment segment = read_segment(image, is_64bit, phoff + i * phentsize);
    if (segment.type == kElfPtLoad) {
      if (segment.file_size > segment.memory_size) {
        image.fail(fmt::format("ELF segment {} has p_filesz {:#x} > p_memsz {:#x}", i, segment.file_size,
                               segment.memory_size));
      }
      if (!image.contains(segment.file_offset, segment.file_size)) {
        image.fail(fmt::format("ELF segment {} at file offset {:#x} (+{:#x} bytes) lies past the end of the file "
                               "({:#x} bytes)",
                               i, segment.file_offset, segment.file_size, image.size()));
      }
    }
    elf.segments.push_back(segment);
  }
  return elf;
}

std::optional<uint32_t> find_pvh_entry(const ImageView& image, const ElfImage& elf) {
  for (const ElfSegment& segment : elf.segments) {
    if (segment.type != kElfPtNote) continue;
    const auto notes = image.slice(segment.file_offset, segment.file_size, "ELF note segment");
    const ImageView view(notes, image.label());
    // Notes are 4-byte aligned, or 8-byte aligned in a segment that says so.
    const uint64_t alignment = segment.alignment == 8 ? 8 : 4;
    uint64_t at = 0;
    while (view.size() - at >= 12) {
      const uint64_t name_size = view.u32(at, "ELF note");
      const uint64_t desc_size = view.u32(at + 4, "ELF note");
      const uint32_t type = view.u32(at + 8, "ELF note");
      const uint64_t name_at = at + 12;
      const uint64_t desc_at = align_up(name_at + name_size, alignment);
      const uint64_t next = align_up(desc_at + desc_size, alignment);
      if (!view.contains(name_at, name_size) || !view.contains(desc_at, desc_size)) {
        image.fail(fmt::format("malformed ELF note at offset {:#x} of its segment", at));
      }
      const auto name = view.bytes().subspan(name_at, name_size);
      const bool is_xen = name_size == 4 && std::memcmp(name.data(), "Xen", 4) == 0;
      if (is_xen && type == kXenElfNotePhys32Entry) {
        if (desc_size != 4 && desc_size != 8) {
          image.fail(fmt::format("PVH entry note has a {}-byte value (expected 4 or 8)", desc_size));
        }
        const uint64_t entry = desc_size == 8 ? view.u64(desc_at, "PVH note") : view.u32(desc_at, "PVH note");
        if (entry > UINT32_MAX) image.fail(fmt::format("PVH entry {:#x} is above 4 GiB", entry));
        return static_cast<uint32_t>(entry);
      }
      if (next >= view.size()) break;
      at = next;
    }
  }
  return std::nullopt;
}

GuestRange elf_load_footprint(const ImageView& image, const ElfImage& elf) {
  std::optional<GuestRange> footprint;
  for (const ElfSegment& segment : elf.segments) {
    if (segment.type != kElfPtLoad || segment.memory_size == 0) continue;
    uint64_t end = 0;
    if (__builtin_add_overflow(segment.physical_address, segment.memory_size, &end)) {
      image.fail(fmt::format("ELF segment at {:#x} (+{:#x} bytes) wraps past the end of the address space",
                             segment.physical_address, segment.memory_size));
    }
    if (!footprint) {
      footprint = GuestRange{segment.physical_address, end};
    } else {
      footprint->begin = std::min(footprint->begin, segment.physical_address);
      footprint->end = std::max(footprint->end, end);
    }
  }
  if (!footprint) image.fail("ELF image has no loadable (PT_LOAD) segments");
  return *footprint;
}

void load_elf_segments(GuestMemory& memory, const ImageView& image, const ElfImage& elf) {
  for (size_t i = 0; i < elf.segments.size(); ++i) {
    const ElfSegment& segment = elf.segments[i];
    if (segment.type != kElfPtLoad) continue;
    check_kernel_range(memory, image.label(), fmt::format("ELF segment {}", i), segment.physical_address,
                       segment.memory_size);
  }
  for (const ElfSegment& segment : elf.segments) {
    if (segment.type != kElfPtLoad || segment.memory_size == 0) continue;
    // parse_elf() checked the file bytes, check_kernel_range() the guest range.
    const auto bytes = image.slice(segment.file_offset, segment.file_size, "ELF segment");
    write_guest(memory, segment.physical_address, bytes, "an ELF segment");
    const uint64_t bss_size = segment.memory_size - segment.file_size;
    if (bss_size != 0) {
      auto cleared = memory.fill(Gpa{segment.physical_address + segment.file_size}, bss_size, std::byte{0});
      if (!cleared) image.fail("cannot zero-fill an ELF segment's bss");
    }
  }
}

uint64_t elf_physical_entry(const ElfImage& elf) noexcept {
  for (const ElfSegment& segment : elf.segments) {
    if (segment.type != kElfPtLoad) continue;
    if (elf.entry >= segment.virtual_address && elf.entry - segment.virtual_address < segment.memory_size) {
      return elf.entry - segment.virtual_address + segment.physical_address;
    }
  }
  return elf.entry;
}

}  // namespace keel::boot
