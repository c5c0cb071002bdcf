// What the three loader targets (bzimage.cc, pvh_elf.cc, multiboot.cc)
// share: the machine a kernel image is loaded into, read from the input, and
// the checks that hold after any load, successful or not. Header-only on
// purpose: every tests/fuzz/*.cc is a harness of its own in the engine build.
//
// Input (common prefix of the three targets), then the image itself:
//   low RAM size   range(1, kMaxLowRam): 1-4 bytes, any size, not only pages
//   layout   u8    bits 0-2: 7 = low RAM at 64 KiB instead of 0 (no RAM at
//                  0: the loaders must refuse); bit 3: a high RAM region at
//                  4 GiB; bit 4: an initrd
//   high size u16  (+1) bytes of high RAM, when bit 3
//   cpus     u8    % 72: 0 and 65..71 are refused by the firmware tables
//   initrd   u16   (+1) bytes, when bit 4: a memfd holding a known pattern
//   cmdline  u16   % 4200 bytes of command line, then those bytes
//   image          the rest of the input
//
// Guest RAM is fresh anonymous memory (all zero) between guard pages, so
// every byte a loader changes shows up as non-zero; check_writes() requires
// each such byte to lie in a range the load explains (boot data areas of
// boot_layout.h, the firmware area, the kernel's ranges, the initrd).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "keel/guest_memory.h"
#include "src/boot/boot.h"
#include "src/boot/boot_layout.h"
#include "src/boot/boot_memory.h"
#include "src/boot/elf_reader.h"
#include "src/boot/image_view.h"
#include "src/boot/image_file.h"
#include "src/boot/load_request.h"
#include "src/firmware/firmware_tables.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/guarded_ram.h"

namespace keel::fuzz::boot_check {

using keel::boot::GuestRange;
namespace boot_layout = keel::boot::layout;

// 1.5 MiB: enough for boot data, the BIOS area and a small kernel above
// 1 MiB, small enough that a run stays cheap.
inline constexpr size_t kMaxLowRam = 0x18'0000;
inline constexpr uint64_t kNoRamAtZeroBase = 0x1'0000;

// The initrd file: one memfd for the whole process, refilled each run, read
// through /proc/self/fd as the loaders only take files (InputFile).
inline int initrd_fd() {
  static const int fd = [] {
    const int created = ::memfd_create("keel-fuzz-initrd", 0);
    FUZZ_CHECK(created >= 0, "memfd_create for the initrd");
    return created;
  }();
  return fd;
}

inline uint8_t initrd_byte(uint64_t i) { return static_cast<uint8_t>((i * 13 + 0x41) ^ (i >> 8)); }

class BootMachine {
 public:
  explicit BootMachine(FuzzInput& in) {
    // The loaders log every refused image; millions of runs must stay quiet.
    spdlog::set_level(spdlog::level::off);
    const size_t low_size = in.range(1, kMaxLowRam);
    const uint8_t layout = in.u8();
    const uint64_t low_base = (layout & 7) == 7 ? kNoRamAtZeroBase : 0;
    const size_t high_size = (layout & 8) != 0 ? size_t{in.u16()} + 1 : 0;
    cpu_count_ = in.u8() % 72;
    const size_t initrd_size = (layout & 16) != 0 ? size_t{in.u16()} + 1 : 0;
    const size_t cmdline_length = in.u16() % 4200;
    const auto cmdline = in.bytes(cmdline_length);
    cmdline_.assign(reinterpret_cast<const char*>(cmdline.data()), cmdline.size());
    const auto image = in.rest();
    image_ = std::as_bytes(std::span(image.data(), image.size()));

    low_ = std::make_unique<GuardedRam>(low_base, low_size);
    std::vector<MemoryRegion> regions{{Gpa{low_base}, low_size, low_->bytes().data()}};
    if (high_size != 0) {
      high_ = std::make_unique<GuardedRam>(layout::kHighRamStart, high_size);
      regions.push_back({Gpa{layout::kHighRamStart}, high_size, high_->bytes().data()});
    }
    memory_ = std::make_unique<GuestMemory>(std::move(regions));

    if (initrd_size != 0) {
      const int fd = initrd_fd();
      initrd_bytes_.resize(initrd_size);
      for (size_t i = 0; i < initrd_size; ++i) initrd_bytes_[i] = std::byte{initrd_byte(i)};
      FUZZ_CHECK(::ftruncate(fd, 0) == 0 && ::ftruncate(fd, static_cast<off_t>(initrd_size)) == 0, "ftruncate");
      FUZZ_CHECK(::pwrite(fd, initrd_bytes_.data(), initrd_size, 0) == static_cast<ssize_t>(initrd_size), "pwrite");
      initrd_.emplace("/proc/self/fd/" + std::to_string(fd), "initrd");
    }
    request_ = keel::boot::LoadRequest{.initrd = initrd_ ? &*initrd_ : nullptr, .cmdline = cmdline_,
                                       .cpu_count = cpu_count_};
  }

  GuestMemory& memory() const { return *memory_; }
  std::span<const std::byte> image() const { return image_; }
  const keel::boot::LoadRequest& request() const { return request_; }
  bool has_initrd() const { return initrd_.has_value(); }
  const std::string& cmdline() const { return cmdline_; }

  uint64_t read(uint64_t address, unsigned width) const {
    uint64_t value = 0;
    std::array<std::byte, 8> bytes{};
    FUZZ_CHECK(memory_->read(Gpa{address}, std::span(bytes).first(width)).has_value(), "boot data is in RAM");
    for (unsigned i = 0; i < width; ++i) value |= std::to_integer<uint64_t>(bytes[i]) << (8 * i);
    return value;
  }
  bool equals(uint64_t address, std::span<const std::byte> expected) const {
    auto span = memory_->host_span(Gpa{address}, expected.size());
    return span && (expected.empty() || std::memcmp(span->data(), expected.data(), expected.size()) == 0);
  }
  bool all_zero(uint64_t address, uint64_t size) const {
    auto span = memory_->host_span(Gpa{address}, size);
    return span && std::all_of(span->begin(), span->end(), [](std::byte b) { return b == std::byte{0}; });
  }

  // A load that failed: a one-line ConfigError, and nothing touched outside
  // guest RAM (the guard pages would have faulted; the slack is checked).
  void check_error(const ConfigError& error) const {
    const std::string_view message = error.what();
    // KEEL_FUZZ_DEBUG=1 prints why an input was refused (to see how far a
    // seed gets).
    static const bool debug = std::getenv("KEEL_FUZZ_DEBUG") != nullptr;
    if (debug) std::fprintf(stderr, "refused: %s\n", error.what());
    FUZZ_CHECK(!message.empty(), "an error says what is wrong");
    if (cmdline_.find_first_of("\n\r") == std::string::npos) {
      FUZZ_CHECK(message.find_first_of("\n\r") == std::string_view::npos, "errors are one line");
    }
    check_guards();
  }

  void check_guards() const {
    FUZZ_CHECK(low_->slack_intact(), "nothing written below low RAM");
    FUZZ_CHECK(!high_ || high_->slack_intact(), "nothing written below high RAM");
  }

  // A kernel range the loader accepted: in RAM, clear of keel's boot data
  // and of the BIOS area (where the firmware tables are).
  void check_kernel_range(const GuestRange& range) const {
    FUZZ_CHECK(range.begin < range.end, "kernel ranges are not empty and do not wrap");
    FUZZ_CHECK(memory_->contains(Gpa{range.begin}, range.end - range.begin), "kernel range inside guest RAM");
    FUZZ_CHECK(!range.overlaps({0, boot_layout::kBootDataEnd}), "kernel range clear of keel's boot data");
    FUZZ_CHECK(!range.overlaps({layout::kEbdaStart, layout::kHighMemoryStart}), "kernel range clear of the BIOS area");
  }

  // The initrd the loader reports at [address, address + size): where a
  // boot loader may put it and holding the file's bytes.
  void check_initrd(uint64_t address, uint64_t size, std::span<const GuestRange> kernel, uint64_t limit_end) const {
    FUZZ_CHECK(has_initrd(), "an initrd is reported only when there is one");
    FUZZ_CHECK(size == initrd_bytes_.size(), "the initrd's size is the file's");
    FUZZ_CHECK(address % boot_layout::kPageSize == 0, "the initrd is page-aligned");
    FUZZ_CHECK(address >= layout::kHighMemoryStart && address + size <= limit_end, "the initrd lies in low RAM above 1 MiB");
    for (const GuestRange& range : kernel) {
      FUZZ_CHECK(!range.overlaps({address, address + size}), "the initrd does not overlap the kernel");
    }
    FUZZ_CHECK(equals(address, initrd_bytes_), "the initrd holds the file's bytes");
  }

  void check_cmdline() const {
    std::vector<std::byte> expected;
    for (char c : cmdline_) expected.push_back(static_cast<std::byte>(c));
    expected.push_back(std::byte{0});
    FUZZ_CHECK(equals(boot_layout::kCmdlineAddress, expected), "the command line is in guest RAM, NUL-terminated");
  }

  void check_cpu_state(const keel::boot::BootEntry& entry, keel::boot::EntryMode mode) const {
    FUZZ_CHECK(entry.mode == mode, "the entry mode of the format");
    FUZZ_CHECK(entry.gdt_base == boot_layout::kGdtAddress && entry.gdt_limit == 31, "the GDT");
    FUZZ_CHECK(entry.rsp == boot_layout::kBootStackTop, "the boot stack");
    if (mode == keel::boot::EntryMode::long_mode_64) {
      FUZZ_CHECK(entry.cr3 == boot_layout::kPml4Address, "cr3 is the PML4");
      FUZZ_CHECK((read(boot_layout::kPml4Address, 8) & ~uint64_t{0xFFF}) == boot_layout::kPdptAddress,
                 "PML4[0] points at the PDPT");
    }
  }

  // Every byte of guest RAM the load changed (RAM starts all zero) lies in
  // one of `allowed` or in the boot data and firmware areas of the format.
  void check_writes(std::vector<GuestRange> allowed, keel::boot::EntryMode mode) const {
    allowed.push_back({boot_layout::kGdtAddress, boot_layout::kGdtAddress + 8 * boot_layout::kGdtEntries});
    allowed.push_back({boot_layout::kInfoAddress, boot_layout::kBootParamsAddress + 0x1000});
    if (mode == keel::boot::EntryMode::long_mode_64) {
      allowed.push_back({boot_layout::kPml4Address, boot_layout::kPageDirectoryAddress + 4 * boot_layout::kPageSize});
    }
    allowed.push_back({boot_layout::kCmdlineAddress, boot_layout::kBootDataEnd});
    allowed.push_back({layout::kBiosRomStart, layout::kHighMemoryStart});
    std::sort(allowed.begin(), allowed.end(), [](const GuestRange& a, const GuestRange& b) { return a.begin < b.begin; });
    const auto inside = [&](uint64_t begin, uint64_t end) {
      // Whether [begin, end) lies in the union of the (sorted) ranges.
      uint64_t covered = begin;
      for (const GuestRange& range : allowed) {
        if (range.begin > covered) break;
        covered = std::max(covered, range.end);
        if (covered >= end) return true;
      }
      return covered >= end;
    };
    for (const GuardedRam* ram : {low_.get(), high_.get()}) {
      if (ram == nullptr) continue;
      static const std::array<std::byte, 4096> kZeros{};
      const std::span<std::byte> bytes = const_cast<GuardedRam*>(ram)->bytes();
      for (size_t at = 0; at < bytes.size(); at += kZeros.size()) {
        const size_t n = std::min(kZeros.size(), bytes.size() - at);
        if (std::memcmp(bytes.data() + at, kZeros.data(), n) == 0) continue;
        const uint64_t gpa = ram->base() + at;
        if (inside(gpa, gpa + n)) continue;
        for (size_t i = 0; i < n; ++i) {
          if (bytes[at + i] != std::byte{0}) {
            FUZZ_CHECK(inside(gpa + i, gpa + i + 1), "every byte the loader wrote is boot data, kernel or initrd");
          }
        }
      }
    }
    check_guards();
  }

  // The memory map a format hands over, as the firmware builds it.
  std::vector<firmware::E820Entry> e820() const { return firmware::build_e820_map(*memory_); }
  uint64_t low_ram_end() const { return keel::boot::low_ram_end(*memory_); }

 private:
  std::unique_ptr<GuardedRam> low_;
  std::unique_ptr<GuardedRam> high_;
  std::unique_ptr<GuestMemory> memory_;
  uint32_t cpu_count_ = 1;
  std::string cmdline_;
  std::span<const std::byte> image_;
  std::vector<std::byte> initrd_bytes_;
  std::optional<keel::boot::InputFile> initrd_;
  keel::boot::LoadRequest request_{};
};

// The PT_LOAD segments of a loaded ELF: each a valid kernel range, added to
// `kernel`; when no two overlap, each holds its file bytes and then zeros.
inline void check_elf_segments(const BootMachine& machine, const keel::boot::ImageView& image,
                               const keel::boot::ElfImage& elf, std::vector<GuestRange>& kernel) {
  std::vector<const keel::boot::ElfSegment*> loaded;
  for (const keel::boot::ElfSegment& segment : elf.segments) {
    if (segment.type != keel::boot::kElfPtLoad || segment.memory_size == 0) continue;
    const GuestRange range{segment.physical_address, segment.physical_address + segment.memory_size};
    machine.check_kernel_range(range);
    kernel.push_back(range);
    loaded.push_back(&segment);
  }
  FUZZ_CHECK(!loaded.empty(), "a loaded ELF has a PT_LOAD segment");
  std::sort(loaded.begin(), loaded.end(),
            [](const auto* a, const auto* b) { return a->physical_address < b->physical_address; });
  for (size_t i = 1; i < loaded.size(); ++i) {
    if (loaded[i]->physical_address < loaded[i - 1]->physical_address + loaded[i - 1]->memory_size) return;
  }
  for (const keel::boot::ElfSegment* segment : loaded) {
    FUZZ_CHECK(machine.equals(segment->physical_address, image.bytes().subspan(segment->file_offset, segment->file_size)),
               "a segment holds its file bytes");
    FUZZ_CHECK(machine.all_zero(segment->physical_address + segment->file_size, segment->memory_size - segment->file_size),
               "a segment's bss is zero");
  }
}

}  // namespace keel::fuzz::boot_check
