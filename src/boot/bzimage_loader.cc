#include "src/boot/bzimage_loader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/boot/boot_cpu_state.h"
#include "src/boot/boot_layout.h"
#include "src/boot/linux_boot_params.h"

namespace keel::boot {
namespace {

namespace abi = linux_abi;

using BootParams = std::array<std::byte, abi::kBootParamsSize>;

template <class T>
void put(BootParams& params, uint64_t offset, T value) {
  static_assert(std::is_unsigned_v<T>);
  for (size_t i = 0; i < sizeof(T); ++i) {
    params[offset + i] = static_cast<std::byte>(static_cast<uint64_t>(value) >> (8 * i));
  }
}

std::string version_string(uint16_t version) { return fmt::format("{}.{:02}", version >> 8, version & 0xFF); }

bool is_power_of_two(uint64_t value) noexcept { return value != 0 && (value & (value - 1)) == 0; }

// Where the kernel lives once it runs. The decompressor (head_64.S) moves
// itself to max(load address rounded up to kernel_alignment, LOAD_PHYSICAL_
// ADDR = pref_address) when relocatable, to pref_address otherwise, and
// needs init_size bytes from there. Together with the image as loaded, this
// is what the initrd must stay clear of.
struct KernelFootprint {
  uint64_t load_address;
  GuestRange range;
};

std::optional<KernelFootprint> footprint_at(const BzImageHeader& header, uint64_t load_address) noexcept {
  uint64_t runtime = header.pref_address;
  if (header.relocatable) {
    const uint64_t mask = uint64_t{header.kernel_alignment} - 1;
    runtime = std::max((load_address + mask) & ~mask, header.pref_address);
  }
  uint64_t runtime_end = 0;
  uint64_t image_end = 0;
  if (__builtin_add_overflow(runtime, uint64_t{header.init_size}, &runtime_end) ||
      __builtin_add_overflow(load_address, header.kernel_size, &image_end)) {
    return std::nullopt;
  }
  return KernelFootprint{load_address,
                         GuestRange{std::min(load_address, runtime), std::max(image_end, runtime_end)}};
}

bool fits_in_low_ram(const GuestRange& range, uint64_t ram_end) noexcept {
  return range.begin >= keel::layout::kHighMemoryStart && range.end <= ram_end;
}

KernelFootprint choose_load_address(const ImageView& image, const BzImageHeader& header, uint64_t ram_end) {
  // pref_address lets the kernel decompress in place; 1 MiB (code32_start
  // of every bzImage) is where any kernel may be loaded otherwise.
  const bool pref_usable = header.relocatable && header.pref_address >= keel::layout::kHighMemoryStart &&
                           header.pref_address % header.kernel_alignment == 0;
  if (pref_usable) {
    auto at_pref = footprint_at(header, header.pref_address);
    if (at_pref && fits_in_low_ram(at_pref->range, ram_end)) return *at_pref;
  }
  auto at_1mib = footprint_at(header, keel::layout::kHighMemoryStart);
  if (!at_1mib) {
    image.fail(fmt::format("pref_address {:#x} + init_size {:#x} wraps past the end of the address space",
                           header.pref_address, header.init_size));
  }
  if (at_1mib->range.begin < keel::layout::kHighMemoryStart) {
    image.fail(fmt::format("runs at pref_address {:#x}, below 1 MiB", header.pref_address));
  }
  if (at_1mib->range.end > ram_end) {
    image.fail(fmt::format("needs guest RAM up to {:#x} (init_size {}, pref_address {:#x}) but low RAM ends at "
                           "{:#x}",
                           at_1mib->range.end, describe_size(header.init_size), header.pref_address, ram_end));
  }
  return *at_1mib;
}

void put_e820_table(BootParams& params, const std::vector<firmware::E820Entry>& map) {
  put(params, abi::kE820Entries, static_cast<uint8_t>(map.size()));
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t at = abi::kE820Table + i * abi::kE820EntrySize;
    put(params, at, map[i].address);
    put(params, at + 8, map[i].size);
    put(params, at + 16, static_cast<uint32_t>(map[i].type));
  }
}

}  // namespace

bool looks_like_bzimage(std::span<const std::byte> image) noexcept {
  const ImageView view(image, {});
  return view.try_read_le(abi::kHeaderMagic, 4) == abi::kHeaderMagicValue;
}

BzImageHeader parse_bzimage_header(const ImageView& image) {
  constexpr std::string_view kHeader = "setup header";
  if (image.u32(abi::kHeaderMagic, kHeader) != abi::kHeaderMagicValue) image.fail("no \"HdrS\" setup header");
  const uint16_t boot_flag = image.u16(abi::kBootFlag, kHeader);
  if (boot_flag != abi::kBootFlagValue) {
    image.fail(fmt::format("bad boot sector signature {:#06x} at 0x1fe (expected 0xaa55)", boot_flag));
  }
  BzImageHeader header{};
  header.version = image.u16(abi::kVersion, kHeader);
  if (header.version < abi::kMinVersion) {
    image.fail(fmt::format("boot protocol {} is too old (keel needs 2.12+ for the 64-bit entry point)",
                           version_string(header.version)));
  }
  if (header.version < abi::kXLoadFlagsVersion) {
    image.fail(fmt::format("boot protocol {} has no xloadflags (keel needs 2.12+ for the 64-bit entry point)",
                           version_string(header.version)));
  }
  header.header_end = abi::kHeaderMagic + image.u8(abi::kJump + 1, kHeader);
  if (header.header_end < abi::kInitSizeEnd || !image.contains(0, header.header_end)) {
    image.fail("truncated setup header");
  }
  if (header.header_end > abi::kSetupHeaderLimit) {
    image.fail(fmt::format("setup header ends at {:#x}, past the room boot_params has for it ({:#x})",
                           header.header_end, abi::kSetupHeaderLimit));
  }

  const uint8_t setup_sects_field = image.u8(abi::kSetupSects, kHeader);
  const uint64_t setup_sects = setup_sects_field == 0 ? 4 : setup_sects_field;
  header.kernel_offset = (setup_sects + 1) * 512;
  if (header.kernel_offset >= image.size()) {
    image.fail(fmt::format("setup_sects ({}) points past the end of the file ({} bytes)", setup_sects,
                           image.size()));
  }
  header.kernel_size = image.size() - header.kernel_offset;
  // The 64-bit entry is at +0x200: a kernel that ends before it would start
  // the vCPU outside the image.
  if (header.kernel_size <= abi::kEntry64Offset) {
    image.fail(fmt::format("the protected-mode kernel is {} bytes, too small to hold the 64-bit entry at +{:#x}",
                           header.kernel_size, abi::kEntry64Offset));
  }

  if ((image.u8(abi::kLoadFlags, kHeader) & abi::kLoadedHigh) == 0) {
    image.reject("is a zImage (LOADED_HIGH clear); keel loads only bzImages");
  }
  if ((image.u16(abi::kXLoadFlags, kHeader) & abi::kXlfKernel64) == 0) {
    image.reject("has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear); keel boots Linux in long mode");
  }
  header.relocatable = image.u8(abi::kRelocatableKernel, kHeader) != 0;
  header.kernel_alignment = image.u32(abi::kKernelAlignment, kHeader);
  if (header.relocatable && !is_power_of_two(header.kernel_alignment)) {
    image.fail(fmt::format("kernel_alignment {:#x} is not a power of two", header.kernel_alignment));
  }
  header.pref_address = image.u64(abi::kPrefAddress, kHeader);
  header.init_size = image.u32(abi::kInitSize, kHeader);
  if (header.init_size == 0) image.fail("init_size is 0");
  header.initrd_addr_max = image.u32(abi::kInitrdAddrMax, kHeader);
  if (header.initrd_addr_max == 0) header.initrd_addr_max = abi::kDefaultInitrdAddrMax;
  header.cmdline_size = image.u32(abi::kCmdlineSize, kHeader);
  return header;
}

BootEntry load_bzimage(GuestMemory& memory, const ImageView& image, const LoadRequest& request) {
  const BzImageHeader header = parse_bzimage_header(image);
  const uint64_t ram_end = low_ram_end(memory);
  const KernelFootprint kernel = choose_load_address(image, header, ram_end);
  check_kernel_range(memory, image.label(), "protected-mode kernel", kernel.load_address, header.kernel_size);
  const auto e820 = memory_map(memory, abi::kE820MaxEntries);

  // Everything is validated; now fill guest memory.
  const auto tables = firmware::write_firmware_tables(memory, request.cpu_count);
  write_guest(memory, kernel.load_address, image.slice(header.kernel_offset, header.kernel_size, "kernel"),
              "the kernel");
  write_cmdline(memory, image, request.cmdline, header.cmdline_size);

  BootParams params{};
  const auto setup_header = image.slice(abi::kSetupHeader, header.header_end - abi::kSetupHeader, "setup header");
  std::memcpy(params.data() + abi::kSetupHeader, setup_header.data(), setup_header.size());
  put(params, abi::kVidMode, abi::kVidModeNormal);
  put(params, abi::kTypeOfLoader, abi::kTypeOfLoaderUndefined);
  put(params, abi::kLoadFlags,
      static_cast<uint8_t>(image.u8(abi::kLoadFlags, "setup header") | abi::kLoadedHigh | abi::kCanUseHeap));
  put(params, abi::kCode32Start, static_cast<uint32_t>(kernel.load_address));
  put(params, abi::kHeapEndPtr, abi::kHeapEndPtrValue);
  put(params, abi::kCmdLinePtr, static_cast<uint32_t>(layout::kCmdlineAddress));
  put(params, abi::kExtCmdLinePtr, static_cast<uint32_t>(layout::kCmdlineAddress >> 32));

  // Fields the loader owns start out zero whatever the image carried: no
  // initrd unless we place one, no setup_data list (we pass none).
  put(params, abi::kRamdiskImage, uint32_t{0});
  put(params, abi::kRamdiskSize, uint32_t{0});
  put(params, abi::kSetupData, uint64_t{0});
  if (request.initrd != nullptr) {
    const uint64_t limit_end = std::min<uint64_t>(uint64_t{header.initrd_addr_max} + 1, ram_end);
    const std::array avoid{kernel.range};
    const PlacedInitrd initrd = load_initrd(memory, *request.initrd, limit_end, avoid);
    put(params, abi::kRamdiskImage, static_cast<uint32_t>(initrd.address));
    put(params, abi::kExtRamdiskImage, static_cast<uint32_t>(initrd.address >> 32));
    put(params, abi::kRamdiskSize, static_cast<uint32_t>(initrd.size));
    put(params, abi::kExtRamdiskSize, static_cast<uint32_t>(initrd.size >> 32));
  }
  put_e820_table(params, e820);
  if (header.version >= abi::kAcpiRsdpVersion) put(params, abi::kAcpiRsdpAddr, tables.rsdp_address);
  write_guest(memory, layout::kBootParamsAddress, params, "boot_params");

  BootEntry entry{.format = KernelFormat::linux_bzimage, .mode = EntryMode::long_mode_64};
  write_boot_cpu_state(memory, entry);
  entry.rip = kernel.load_address + abi::kEntry64Offset;
  entry.rsi = layout::kBootParamsAddress;
  entry.facs_address = tables.facs_address;
  return entry;
}

}  // namespace keel::boot
