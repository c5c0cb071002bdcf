// Fuzz target: the Multiboot v1 loader (src/boot/multiboot_loader: header
// search, flags, the a.out kludge's address fields, ELF32 loading through
// src/boot/elf_reader, the information block) on random images, in guest
// RAM of random size, with a random command line, vCPU count and optional
// initrd. boot_check.h describes the machine part of the input; the rest is
// the image (seeds: make_seeds.py builds valid minimal a.out-kludge and
// ELF32 Multiboot kernels).
//
// The image goes the way boot.cc takes it: parse_elf() when it has the ELF
// magic, find_multiboot_header(), load_multiboot(). Invariants, beyond "no
// crash": each step either throws a one-line ConfigError or succeeds; a
// successful load enters 32-bit protected mode with eax = 0x2BADB002 and
// ebx = the information block; with the address fields, the image lies at
// load_addr (file bytes, then a zero bss up to bss_end_addr) and the entry
// inside it; for an ELF, every PT_LOAD segment lies in RAM (file bytes, zero
// bss when segments do not overlap) and the entry is in RAM below 4 GiB;
// kernel ranges are clear of boot data and the BIOS area; the information
// block lists the command line, the firmware's memory map, the loader name
// and the initrd (page-aligned above 1 MiB, clear of the kernel, holding the
// file's bytes); every byte the load changed is boot data, firmware tables,
// kernel or initrd; nothing outside guest RAM is touched.
#include <cstdint>
#include <optional>


#include "src/boot/elf_reader.h"
#include "src/boot/multiboot_loader.h"
#include "tests/fuzz/boot_check.h"

namespace {

namespace mb = keel::boot::multiboot_abi;
namespace boot_layout = keel::boot::layout;
using keel::boot::GuestRange;
using keel::fuzz::boot_check::BootMachine;

// The a.out kludge as the Multiboot spec defines it, computed here again.
void check_address_fields(const BootMachine& machine, const keel::boot::ImageView& image,
                          const keel::boot::MultibootHeader& header, uint64_t entry,
                          std::vector<GuestRange>& kernel) {
  FUZZ_CHECK(header.header_addr >= header.load_addr, "header_addr >= load_addr");
  const uint64_t load_offset = header.file_offset - (header.header_addr - header.load_addr);
  const uint64_t load_size = header.load_end_addr != 0 ? uint64_t{header.load_end_addr} - header.load_addr
                                                       : image.size() - load_offset;
  const uint64_t load_end = uint64_t{header.load_addr} + load_size;
  const uint64_t end = header.bss_end_addr != 0 ? uint64_t{header.bss_end_addr} : load_end;
  FUZZ_CHECK(end >= load_end && image.contains(load_offset, load_size), "the loaded part is in the file");
  FUZZ_CHECK(end > header.load_addr, "something is loaded (the entry must lie inside it)");
  const GuestRange range{header.load_addr, end};
  machine.check_kernel_range(range);
  FUZZ_CHECK(entry >= range.begin && entry < range.end, "the entry lies inside the loaded image");
  FUZZ_CHECK(machine.equals(header.load_addr, image.bytes().subspan(load_offset, load_size)),
             "the image holds the file's bytes");
  FUZZ_CHECK(machine.all_zero(load_end, end - load_end), "the bss is zero");
  kernel.push_back(range);
}

void check_loaded(const BootMachine& machine, const keel::boot::ImageView& image,
                  const keel::boot::MultibootHeader& header, const std::optional<keel::boot::ElfImage>& elf,
                  const keel::boot::BootEntry& entry) {
  machine.check_cpu_state(entry, keel::boot::EntryMode::protected_mode_32);
  FUZZ_CHECK(entry.format == keel::boot::KernelFormat::multiboot, "the format");
  FUZZ_CHECK(entry.rax == mb::kBootloaderMagic && entry.rbx == boot_layout::kInfoAddress, "eax and ebx");
  FUZZ_CHECK((header.flags & mb::kRequiredFlagsMask & ~(mb::kFlagPageAlignModules | mb::kFlagMemoryInfo)) == 0,
             "only flags keel meets are accepted");
  FUZZ_CHECK(machine.memory().contains(keel::Gpa{entry.rip}, 1) && entry.rip < keel::layout::kHighRamStart,
             "the entry point is in guest RAM below 4 GiB");

  std::vector<GuestRange> allowed;
  if ((header.flags & mb::kFlagAddressFields) != 0) {
    check_address_fields(machine, image, header, entry.rip, allowed);
  } else {
    FUZZ_CHECK(elf && !elf->is_64bit, "without address fields the kernel is an ELF32");
    keel::fuzz::boot_check::check_elf_segments(machine, image, *elf, allowed);
  }
  const std::vector<GuestRange> kernel = allowed;

  const uint64_t info = boot_layout::kInfoAddress;
  const uint32_t flags = static_cast<uint32_t>(machine.read(info, 4));
  FUZZ_CHECK((flags & mb::kInfoCmdline) != 0 && machine.read(info + 16, 4) == boot_layout::kCmdlineAddress,
             "the information block has the command line");
  machine.check_cmdline();
  const auto map = machine.e820();
  FUZZ_CHECK(machine.read(info + 44, 4) == map.size() * mb::kMmapEntrySize &&
                 machine.read(info + 48, 4) == boot_layout::kMemoryMapAddress,
             "the memory map is the firmware's E820 map");
  FUZZ_CHECK(map.size() * mb::kMmapEntrySize <= boot_layout::kMemoryMapMaxSize, "the memory map fits its area");
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t at = boot_layout::kMemoryMapAddress + i * mb::kMmapEntrySize;
    FUZZ_CHECK(machine.read(at, 4) == mb::kMmapEntrySizeField && machine.read(at + 4, 8) == map[i].address &&
                   machine.read(at + 12, 8) == map[i].size &&
                   machine.read(at + 20, 4) == static_cast<uint32_t>(map[i].type),
               "memory map entries are the firmware's");
  }
  FUZZ_CHECK(machine.read(info + 64, 4) == boot_layout::kLoaderNameAddress &&
                 machine.read(boot_layout::kLoaderNameAddress, 5) == 0x6C65656B,  // "keel\0"
             "the boot loader name");
  const uint64_t modules = machine.read(info + 20, 4);
  if (machine.has_initrd()) {
    FUZZ_CHECK(modules == 1 && machine.read(info + 24, 4) == boot_layout::kModuleListAddress, "one module");
    const uint64_t start = machine.read(boot_layout::kModuleListAddress, 4);
    const uint64_t end = machine.read(boot_layout::kModuleListAddress + 4, 4);
    FUZZ_CHECK(end >= start, "mod_end >= mod_start");
    machine.check_initrd(start, end - start, kernel, machine.low_ram_end());
    allowed.push_back({start, end});
  } else {
    FUZZ_CHECK(modules == 0, "no module without an initrd");
  }
  machine.check_writes(std::move(allowed), keel::boot::EntryMode::protected_mode_32);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  keel::fuzz::FuzzInput in(data, size);
  BootMachine machine(in);
  const keel::boot::ImageView image(machine.image(), "kernel image");
  try {
    std::optional<keel::boot::ElfImage> elf;
    if (keel::boot::has_elf_magic(image.bytes())) elf = keel::boot::parse_elf(image);
    const auto header = keel::boot::find_multiboot_header(image);
    if (!header) {
      machine.check_guards();
      return 0;
    }
    const keel::boot::BootEntry entry =
        keel::boot::load_multiboot(machine.memory(), image, *header, elf ? &*elf : nullptr, machine.request());
    check_loaded(machine, image, *header, elf, entry);
  } catch (const keel::ConfigError& error) {
    machine.check_error(error);
  }
  return 0;
}
