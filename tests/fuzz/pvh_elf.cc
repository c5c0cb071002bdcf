// Fuzz target: the PVH loader (src/boot/pvh_loader) and the ELF reader it
// stands on (src/boot/elf_reader: ELF32/ELF64 headers, program headers,
// notes, segment loading) on random images, in guest RAM of random size,
// with a random command line, vCPU count and optional initrd.
// boot_check.h describes the machine part of the input; the rest is the
// image (seeds: make_seeds.py builds valid minimal ELF32/ELF64 kernels with
// a XEN_ELFNOTE_PHYS32_ENTRY note).
//
// The image goes the way boot.cc takes it: parse_elf(), find_pvh_entry(),
// load_pvh(). Invariants, beyond "no crash": each step either throws a
// one-line ConfigError or succeeds (no PVH note is a clean "not PVH"); a
// successful load enters 32-bit protected mode at the note's entry, which
// lies in guest RAM; every PT_LOAD segment lies in RAM, clear of boot data
// and the BIOS area, and (when segments do not overlap) holds its file
// bytes and a zero bss; hvm_start_info (magic, version 1, command line,
// memory map = the firmware's E820 map, module list = the initrd: page-
// aligned above 1 MiB, clear of the kernel, holding the file's bytes) is
// what the ABI says; every byte the load changed is boot data, firmware
// tables, kernel or initrd; nothing outside guest RAM is touched.
#include <cstdint>
#include <optional>


#include "src/boot/elf_reader.h"
#include "src/boot/pvh_loader.h"
#include "tests/fuzz/boot_check.h"

namespace {

namespace pvh = keel::boot::pvh_abi;
namespace boot_layout = keel::boot::layout;
using keel::boot::GuestRange;
using keel::fuzz::boot_check::BootMachine;

void check_loaded(const BootMachine& machine, const keel::boot::ImageView& image, const keel::boot::ElfImage& elf,
                  uint32_t note_entry, const keel::boot::BootEntry& entry) {
  machine.check_cpu_state(entry, keel::boot::EntryMode::protected_mode_32);
  FUZZ_CHECK(entry.format == keel::boot::KernelFormat::elf_pvh, "the format");
  FUZZ_CHECK(entry.rip == note_entry, "entered at the PVH note's entry");
  FUZZ_CHECK(machine.memory().contains(keel::Gpa{entry.rip}, 1), "the entry point is in guest RAM");
  FUZZ_CHECK(entry.rbx == boot_layout::kInfoAddress, "ebx is hvm_start_info");

  std::vector<GuestRange> allowed;
  keel::fuzz::boot_check::check_elf_segments(machine, image, elf, allowed);
  const std::vector<GuestRange> kernel = allowed;

  const uint64_t info = boot_layout::kInfoAddress;
  FUZZ_CHECK(machine.read(info, 4) == pvh::kStartInfoMagic && machine.read(info + 4, 4) == pvh::kStartInfoVersion,
             "hvm_start_info magic and version");
  FUZZ_CHECK(machine.read(info + 24, 8) == boot_layout::kCmdlineAddress, "cmdline_paddr");
  machine.check_cmdline();
  const auto map = machine.e820();
  FUZZ_CHECK(machine.read(info + 40, 8) == boot_layout::kMemoryMapAddress && machine.read(info + 48, 4) == map.size(),
             "the memory map is the firmware's E820 map");
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t at = boot_layout::kMemoryMapAddress + i * sizeof(pvh::MemmapEntry);
    FUZZ_CHECK(at + sizeof(pvh::MemmapEntry) <= boot_layout::kMemoryMapAddress + boot_layout::kMemoryMapMaxSize,
               "the memory map fits its area");
    FUZZ_CHECK(machine.read(at, 8) == map[i].address && machine.read(at + 8, 8) == map[i].size &&
                   machine.read(at + 16, 4) == static_cast<uint32_t>(map[i].type),
               "memory map entries are the firmware's");
  }
  const uint64_t modules = machine.read(info + 12, 4);
  if (machine.has_initrd()) {
    FUZZ_CHECK(modules == 1 && machine.read(info + 16, 8) == boot_layout::kModuleListAddress, "one module");
    const uint64_t address = machine.read(boot_layout::kModuleListAddress, 8);
    const uint64_t size = machine.read(boot_layout::kModuleListAddress + 8, 8);
    machine.check_initrd(address, size, kernel, machine.low_ram_end());
    allowed.push_back({address, address + size});
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
    const keel::boot::ElfImage elf = keel::boot::parse_elf(image);
    const std::optional<uint32_t> note_entry = keel::boot::find_pvh_entry(image, elf);
    if (!note_entry) {
      machine.check_guards();
      return 0;
    }
    const keel::boot::BootEntry entry = keel::boot::load_pvh(machine.memory(), image, elf, *note_entry,
                                                             machine.request());
    check_loaded(machine, image, elf, *note_entry, entry);
  } catch (const keel::ConfigError& error) {
    machine.check_error(error);
  }
  return 0;
}
