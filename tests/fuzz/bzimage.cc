// Fuzz target: the Linux bzImage loader (src/boot/bzimage_loader) on random
// images, in guest RAM of random size (low RAM of any size at 0 or none at
// 0, optionally high RAM at 4 GiB), with a random command line, vCPU count
// and optional initrd. boot_check.h describes the machine part of the input;
// the rest of the input is the image (seeds: make_seeds.py builds valid
// minimal bzImages the fuzzer mutates).
//
// Invariants, beyond "no crash": load_bzimage() either throws a one-line
// ConfigError or returns an entry where: the setup header still parses;
// the protected-mode kernel sits at entry - 0x200, at or above 1 MiB, in
// RAM, clear of boot data and the BIOS area, holding the image's bytes;
// the entry point lies inside that kernel; boot_params says where the
// kernel, command line and initrd are (the initrd page-aligned above 1 MiB,
// below initrd_addr_max and RAM's end, clear of the kernel, holding the
// file's bytes) and carries the same E820 map as the firmware builds; every
// byte the load changed is boot data, firmware tables, kernel or initrd;
// nothing outside guest RAM is touched.
#include <cstdint>


#include "src/boot/bzimage_loader.h"
#include "src/boot/linux_boot_params.h"
#include "tests/fuzz/boot_check.h"

namespace {

namespace abi = keel::boot::linux_abi;
using keel::boot::GuestRange;
using keel::fuzz::boot_check::BootMachine;

void check_loaded(const BootMachine& machine, const keel::boot::ImageView& image, const keel::boot::BootEntry& entry) {
  const keel::boot::BzImageHeader header = keel::boot::parse_bzimage_header(image);
  machine.check_cpu_state(entry, keel::boot::EntryMode::long_mode_64);
  FUZZ_CHECK(entry.format == keel::boot::KernelFormat::linux_bzimage, "the format");
  FUZZ_CHECK(entry.rip >= abi::kEntry64Offset, "the entry is above the load address");
  const uint64_t load = entry.rip - abi::kEntry64Offset;
  const GuestRange kernel{load, load + header.kernel_size};
  FUZZ_CHECK(load >= keel::layout::kHighMemoryStart, "the kernel is loaded at or above 1 MiB");
  machine.check_kernel_range(kernel);
  FUZZ_CHECK(entry.rip < kernel.end, "the entry point lies inside the loaded kernel");
  FUZZ_CHECK(machine.equals(load, image.bytes().subspan(header.kernel_offset, header.kernel_size)),
             "the kernel holds the image's protected-mode code");
  FUZZ_CHECK(entry.rsi == keel::boot::layout::kBootParamsAddress, "rsi is boot_params");

  const uint64_t params = keel::boot::layout::kBootParamsAddress;
  FUZZ_CHECK(machine.read(params + abi::kCode32Start, 4) == load, "code32_start is the load address");
  FUZZ_CHECK(machine.read(params + abi::kCmdLinePtr, 4) == keel::boot::layout::kCmdlineAddress &&
                 machine.read(params + abi::kExtCmdLinePtr, 4) == 0,
             "cmd_line_ptr");
  FUZZ_CHECK(machine.read(params + abi::kSetupData, 8) == 0, "no setup_data list");
  machine.check_cmdline();

  std::vector<GuestRange> allowed{kernel};
  const uint64_t initrd_address =
      machine.read(params + abi::kRamdiskImage, 4) | machine.read(params + abi::kExtRamdiskImage, 4) << 32;
  const uint64_t initrd_size =
      machine.read(params + abi::kRamdiskSize, 4) | machine.read(params + abi::kExtRamdiskSize, 4) << 32;
  if (machine.has_initrd()) {
    const uint64_t limit_end = std::min<uint64_t>(uint64_t{header.initrd_addr_max} + 1, machine.low_ram_end());
    machine.check_initrd(initrd_address, initrd_size, std::span(&kernel, 1), limit_end);
    allowed.push_back({initrd_address, initrd_address + initrd_size});
  } else {
    FUZZ_CHECK(initrd_address == 0 && initrd_size == 0, "no initrd in boot_params without one");
  }

  const auto map = machine.e820();
  FUZZ_CHECK(machine.read(params + abi::kE820Entries, 1) == map.size(), "boot_params has the whole E820 map");
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t at = params + abi::kE820Table + i * abi::kE820EntrySize;
    FUZZ_CHECK(machine.read(at, 8) == map[i].address && machine.read(at + 8, 8) == map[i].size &&
                   machine.read(at + 16, 4) == static_cast<uint32_t>(map[i].type),
               "boot_params' E820 entries are the firmware's");
  }
  machine.check_writes(std::move(allowed), keel::boot::EntryMode::long_mode_64);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  keel::fuzz::FuzzInput in(data, size);
  BootMachine machine(in);
  const keel::boot::ImageView image(machine.image(), "kernel image");
  keel::boot::BootEntry entry{};
  try {
    entry = keel::boot::load_bzimage(machine.memory(), image, machine.request());
  } catch (const keel::ConfigError& error) {
    machine.check_error(error);
    return 0;
  }
  check_loaded(machine, image, entry);
  return 0;
}
