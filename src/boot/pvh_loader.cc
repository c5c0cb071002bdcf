#include "src/boot/pvh_loader.h"

#include <array>

#include <fmt/format.h>

#include "src/boot/boot_cpu_state.h"
#include "src/boot/boot_layout.h"

namespace keel::boot {

BootEntry load_pvh(GuestMemory& memory, const ImageView& image, const ElfImage& elf, uint32_t entry_point,
                   const LoadRequest& request) {
  const GuestRange kernel = elf_load_footprint(image, elf);
  if (!memory.contains(Gpa{entry_point}, 1)) {
    image.fail(fmt::format("PVH entry point {:#x} is not in guest RAM", entry_point));
  }
  const uint64_t ram_end = low_ram_end(memory);
  const auto e820 = memory_map(memory, layout::kMemoryMapMaxSize / sizeof(pvh_abi::MemmapEntry));

  load_elf_segments(memory, image, elf);
  const auto tables = firmware::write_firmware_tables(memory, request.cpu_count);
  write_cmdline(memory, image, request.cmdline, layout::kCmdlineAreaSize - 1);

  pvh_abi::StartInfo info{};
  info.magic = pvh_abi::kStartInfoMagic;
  info.version = pvh_abi::kStartInfoVersion;
  info.cmdline_paddr = layout::kCmdlineAddress;
  info.rsdp_paddr = tables.rsdp_address;

  if (request.initrd != nullptr) {
    const std::array avoid{kernel};
    const PlacedInitrd initrd = load_initrd(memory, *request.initrd, ram_end, avoid);
    const pvh_abi::ModlistEntry module{.paddr = initrd.address, .size = initrd.size, .cmdline_paddr = 0,
                                       .reserved = 0};
    write_guest_obj(memory, layout::kModuleListAddress, module, "the PVH module list");
    info.nr_modules = 1;
    info.modlist_paddr = layout::kModuleListAddress;
  }

  for (size_t i = 0; i < e820.size(); ++i) {
    const pvh_abi::MemmapEntry map_entry{.addr = e820[i].address, .size = e820[i].size,
                                         .type = static_cast<uint32_t>(e820[i].type), .reserved = 0};
    write_guest_obj(memory, layout::kMemoryMapAddress + i * sizeof(map_entry), map_entry, "the PVH memory map");
  }
  info.memmap_paddr = layout::kMemoryMapAddress;
  info.memmap_entries = static_cast<uint32_t>(e820.size());
  write_guest_obj(memory, layout::kInfoAddress, info, "hvm_start_info");

  BootEntry entry{.format = KernelFormat::elf_pvh, .mode = EntryMode::protected_mode_32};
  write_boot_cpu_state(memory, entry);
  entry.rip = entry_point;
  entry.rbx = layout::kInfoAddress;
  entry.facs_address = tables.facs_address;
  return entry;
}

}  // namespace keel::boot
