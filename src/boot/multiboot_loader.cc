#include "src/boot/multiboot_loader.h"

#include <algorithm>
#include <array>
#include <string>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/boot/boot_cpu_state.h"
#include "src/boot/boot_layout.h"

namespace keel::boot {
namespace {

namespace abi = multiboot_abi;

constexpr std::string_view kLoaderName = "keel";

void check_required_flags(const ImageView& image, uint32_t flags) {
  // Modules are always page-aligned and memory information is always
  // given, so flags 0 and 1 are met; nothing else is.
  const uint32_t unmet = flags & abi::kRequiredFlagsMask & ~(abi::kFlagPageAlignModules | abi::kFlagMemoryInfo);
  if ((unmet & abi::kFlagVideoMode) != 0) {
    image.fail("Multiboot header requests a video mode (flag 2), which keel cannot set");
  }
  if (unmet != 0) {
    image.fail(fmt::format("Multiboot header requires flags {:#x} that keel does not support", unmet));
  }
}

struct LoadedKernel {
  GuestRange range;
  uint64_t entry;
};

// The a.out kludge: the file bytes from header_addr - load_addr before the
// header, up to load_end_addr, go to load_addr; bss follows up to
// bss_end_addr.
LoadedKernel load_with_address_fields(GuestMemory& memory, const ImageView& image, const MultibootHeader& header) {
  if (header.header_addr < header.load_addr) {
    image.fail(fmt::format("Multiboot header_addr {:#x} is below load_addr {:#x}", header.header_addr,
                           header.load_addr));
  }
  const uint64_t header_delta = header.header_addr - header.load_addr;
  if (header_delta > header.file_offset) {
    image.fail(fmt::format("Multiboot load_addr {:#x} lies before the start of the file", header.load_addr));
  }
  const uint64_t load_offset = header.file_offset - header_delta;
  uint64_t load_size = image.size() - load_offset;
  if (header.load_end_addr != 0) {
    if (header.load_end_addr < header.load_addr) {
      image.fail(fmt::format("Multiboot load_end_addr {:#x} is below load_addr {:#x}", header.load_end_addr,
                             header.load_addr));
    }
    load_size = uint64_t{header.load_end_addr} - header.load_addr;
    if (!image.contains(load_offset, load_size)) {
      image.fail(fmt::format("Multiboot load_end_addr {:#x} lies past the end of the file", header.load_end_addr));
    }
  }
  const uint64_t load_end = uint64_t{header.load_addr} + load_size;
  uint64_t memory_end = load_end;
  if (header.bss_end_addr != 0) {
    if (header.bss_end_addr < load_end) {
      image.fail(fmt::format("Multiboot bss_end_addr {:#x} is below the end of the loaded image {:#x}",
                             header.bss_end_addr, load_end));
    }
    memory_end = header.bss_end_addr;
  }
  const GuestRange range{header.load_addr, memory_end};
  check_kernel_range(memory, image.label(), "Multiboot image", range.begin, range.end - range.begin);
  if (header.entry_addr < range.begin || header.entry_addr >= range.end) {
    image.fail(fmt::format("Multiboot entry_addr {:#x} lies outside the loaded image [{:#x}, {:#x})",
                           header.entry_addr, range.begin, range.end));
  }
  write_guest(memory, header.load_addr, image.slice(load_offset, load_size, "Multiboot image"), "the kernel");
  if (memory_end > load_end) {
    if (!memory.fill(Gpa{load_end}, memory_end - load_end, std::byte{0})) image.fail("cannot zero-fill the bss");
  }
  return LoadedKernel{range, header.entry_addr};
}

LoadedKernel load_elf32(GuestMemory& memory, const ImageView& image, const ElfImage& elf) {
  if (elf.is_64bit) {
    image.reject("is a 64-bit ELF with a Multiboot header; Multiboot v1 kernels must be 32-bit ELF (or set flag 16)");
  }
  const GuestRange range = elf_load_footprint(image, elf);
  const uint64_t entry = elf_physical_entry(elf);
  if (!memory.contains(Gpa{entry}, 1) || entry >= keel::layout::kHighRamStart) {
    image.fail(fmt::format("ELF entry point {:#x} is not in guest RAM", entry));
  }
  load_elf_segments(memory, image, elf);
  return LoadedKernel{range, entry};
}

// mem_lower: KiB of RAM from 0 (at most 640); mem_upper: KiB of RAM from
// 1 MiB up to the first hole.
std::pair<uint32_t, uint32_t> memory_sizes(const std::vector<firmware::E820Entry>& map) {
  uint64_t lower = 0;
  uint64_t upper_end = keel::layout::kHighMemoryStart;
  for (const auto& entry : map) {
    if (entry.type != firmware::E820Type::ram) continue;
    if (entry.address == 0) lower = std::min<uint64_t>(entry.size, 640 * 1024);
  }
  // Walk contiguous RAM entries upwards from 1 MiB (the map is sorted).
  for (const auto& entry : map) {
    if (entry.type == firmware::E820Type::ram && entry.address <= upper_end &&
        entry.address + entry.size > upper_end) {
      upper_end = entry.address + entry.size;
    }
  }
  const uint64_t upper_kib = (upper_end - keel::layout::kHighMemoryStart) / 1024;
  return {static_cast<uint32_t>(lower / 1024), static_cast<uint32_t>(std::min<uint64_t>(upper_kib, UINT32_MAX))};
}

void write_memory_map(GuestMemory& memory, const std::vector<firmware::E820Entry>& map) {
  std::array<std::byte, abi::kMmapEntrySize> bytes{};
  for (size_t i = 0; i < map.size(); ++i) {
    auto put = [&bytes](size_t at, uint64_t value, size_t width) {
      for (size_t b = 0; b < width; ++b) bytes[at + b] = static_cast<std::byte>(value >> (8 * b));
    };
    put(0, abi::kMmapEntrySizeField, 4);
    put(4, map[i].address, 8);
    put(12, map[i].size, 8);
    put(20, static_cast<uint32_t>(map[i].type), 4);
    write_guest(memory, layout::kMemoryMapAddress + i * abi::kMmapEntrySize, bytes, "the Multiboot memory map");
  }
}

}  // namespace

std::optional<MultibootHeader> find_multiboot_header(const ImageView& image) {
  std::optional<uint64_t> bad_checksum_at;
  const uint64_t search_end = std::min(image.size(), abi::kSearchLimit);
  for (uint64_t at = 0; at + abi::kHeaderSize <= search_end; at += 4) {
    if (image.try_read_le(at, 4) != abi::kHeaderMagic) continue;
    const uint32_t flags = image.u32(at + 4, "Multiboot header");
    const uint32_t checksum = image.u32(at + 8, "Multiboot header");
    if (static_cast<uint32_t>(abi::kHeaderMagic + flags + checksum) != 0) {
      if (!bad_checksum_at) bad_checksum_at = at;
      continue;
    }
    MultibootHeader header{.file_offset = at, .flags = flags, .header_addr = 0, .load_addr = 0,
                           .load_end_addr = 0, .bss_end_addr = 0, .entry_addr = 0};
    if ((flags & abi::kFlagAddressFields) != 0) {
      if (at + abi::kHeaderSizeWithAddresses > search_end) {
        image.fail("truncated Multiboot header (flag 16 needs the address fields within the first 8 KiB)");
      }
      header.header_addr = image.u32(at + 12, "Multiboot header");
      header.load_addr = image.u32(at + 16, "Multiboot header");
      header.load_end_addr = image.u32(at + 20, "Multiboot header");
      header.bss_end_addr = image.u32(at + 24, "Multiboot header");
      header.entry_addr = image.u32(at + 28, "Multiboot header");
    }
    return header;
  }
  if (bad_checksum_at) {
    image.fail(fmt::format("Multiboot header at file offset {:#x} has a bad checksum", *bad_checksum_at));
  }
  return std::nullopt;
}

BootEntry load_multiboot(GuestMemory& memory, const ImageView& image, const MultibootHeader& header,
                         const ElfImage* elf, const LoadRequest& request) {
  check_required_flags(image, header.flags);
  if ((header.flags & abi::kFlagAddressFields) == 0 && elf == nullptr) {
    image.reject("has a Multiboot header without address fields (flag 16) but is not an ELF image");
  }
  const uint64_t ram_end = low_ram_end(memory);
  const auto e820 = memory_map(memory, layout::kMemoryMapMaxSize / abi::kMmapEntrySize);

  const LoadedKernel kernel = (header.flags & abi::kFlagAddressFields) != 0
                                  ? load_with_address_fields(memory, image, header)
                                  : load_elf32(memory, image, *elf);
  const auto tables = firmware::write_firmware_tables(memory, request.cpu_count);
  write_cmdline(memory, image, request.cmdline, layout::kCmdlineAreaSize - 1);

  abi::Info info{};
  info.flags = abi::kInfoMemory | abi::kInfoCmdline | abi::kInfoModules | abi::kInfoMemoryMap | abi::kInfoLoaderName;
  std::tie(info.mem_lower, info.mem_upper) = memory_sizes(e820);
  info.cmdline = static_cast<uint32_t>(layout::kCmdlineAddress);
  info.mods_addr = static_cast<uint32_t>(layout::kModuleListAddress);
  if (request.initrd != nullptr) {
    const std::array avoid{kernel.range};
    const PlacedInitrd initrd = load_initrd(memory, *request.initrd, ram_end, avoid);
    const std::string name = request.initrd->path().string();
    if (name.size() >= layout::kModuleStringAreaSize || name.find('\0') != std::string::npos) {
      throw ConfigError(fmt::format("{}: path too long for the Multiboot module string", request.initrd->label()));
    }
    write_guest_string(memory, layout::kModuleStringAddress, name, "the Multiboot module string");
    const abi::Module module{.mod_start = static_cast<uint32_t>(initrd.address),
                             .mod_end = static_cast<uint32_t>(initrd.address + initrd.size),
                             .string = static_cast<uint32_t>(layout::kModuleStringAddress),
                             .reserved = 0};
    write_guest_obj(memory, layout::kModuleListAddress, module, "the Multiboot module list");
    info.mods_count = 1;
  }
  write_memory_map(memory, e820);
  info.mmap_addr = static_cast<uint32_t>(layout::kMemoryMapAddress);
  info.mmap_length = static_cast<uint32_t>(e820.size() * abi::kMmapEntrySize);
  write_guest_string(memory, layout::kLoaderNameAddress, kLoaderName, "the boot loader name");
  info.boot_loader_name = static_cast<uint32_t>(layout::kLoaderNameAddress);
  write_guest_obj(memory, layout::kInfoAddress, info, "the Multiboot information block");

  BootEntry entry{.format = KernelFormat::multiboot, .mode = EntryMode::protected_mode_32};
  write_boot_cpu_state(memory, entry);
  entry.rip = kernel.entry;
  entry.rax = abi::kBootloaderMagic;
  entry.rbx = layout::kInfoAddress;
  entry.facs_address = tables.facs_address;
  return entry;
}

}  // namespace keel::boot
