// Multiboot v1: ELF32 kernels with a Multiboot header (like the probe
// guest) and a.out-kludge binaries, and the information block they get.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/boot/boot.h"
#include "src/firmware/firmware_tables.h"
#include "tests/support/fakes.h"
#include "tests/unit/boot/test_images.h"

namespace keel::boot {
namespace {

using namespace keel::boot::testing;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kInfo = 0x6000;

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Like the probe guest: linked at 1 MiB, header first in .text, bss after.
ElfSpec probe_like_elf(uint32_t multiboot_flags = 0x2) {
  ElfSpec spec;
  spec.entry = 0x100010;
  spec.segments.push_back({.type = 1, .vaddr = 0x100000, .paddr = 0x100000,
                           .data = concat(make_multiboot_header(multiboot_flags), pattern(0x1234, 4)),
                           .memsz = 0x4000});
  return spec;
}

class MultibootTest : public ::testing::Test {
 protected:
  keel::testing::TestGuestMemory ram_{32 * kMiB};
  GuestMemory& memory() { return ram_.memory(); }
  TempDir dir_;
  uint64_t info(uint64_t offset) { return read_guest_le(memory(), kInfo + offset, 4); }
};

TEST_F(MultibootTest, Elf32LoadsAtPaddrWithInfoBlock) {
  std::fill_n(ram_.host(), 32 * kMiB, std::byte{0xAA});
  const ElfSpec spec = probe_like_elf();
  const Bytes initrd = pattern(100'000, 8);
  BootConfig config;
  config.kernel = dir_.write("probe.elf", make_elf(spec));
  config.initrd = dir_.write("suite.bin", initrd);
  config.cmdline = "demo suite=all";

  const BootEntry entry = load(memory(), config);

  EXPECT_EQ(entry.format, KernelFormat::multiboot);
  EXPECT_EQ(entry.mode, EntryMode::protected_mode_32);
  EXPECT_EQ(entry.rip, 0x100010u);
  EXPECT_EQ(entry.rax, 0x2BADB002u);
  EXPECT_EQ(entry.rbx, kInfo);
  EXPECT_EQ(entry.cr3, 0u);
  EXPECT_EQ(read_guest_le(memory(), 0x510, 8), 0x00CF9B000000FFFFull);

  EXPECT_EQ(read_guest(memory(), 0x100000, spec.segments[0].data.size()), spec.segments[0].data);
  const uint64_t bss_start = 0x100000 + spec.segments[0].data.size();
  EXPECT_EQ(read_guest(memory(), bss_start, 0x104000 - bss_start), Bytes(0x104000 - bss_start));

  // flags: MEM | CMDLINE | MODS | MMAP | BOOT_LOADER_NAME
  EXPECT_EQ(info(0), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
  EXPECT_EQ(info(4), 639u);               // mem_lower: [0, 0x9FC00) in KiB
  EXPECT_EQ(info(8), (31 * kMiB) >> 10);  // mem_upper: 1 MiB .. 32 MiB in KiB
  EXPECT_EQ(read_guest_string(memory(), info(16)), "demo suite=all");
  EXPECT_EQ(info(20), 1u);  // mods_count
  const uint64_t module = info(24);
  const uint64_t mod_start = read_guest_le(memory(), module, 4);
  const uint64_t mod_end = read_guest_le(memory(), module + 4, 4);
  EXPECT_EQ(mod_start % 4096, 0u);  // page-aligned
  EXPECT_EQ(mod_end - mod_start, initrd.size());
  EXPECT_LE(mod_end, 32 * kMiB);
  EXPECT_EQ(read_guest(memory(), mod_start, initrd.size()), initrd);
  EXPECT_EQ(read_guest_string(memory(), read_guest_le(memory(), module + 8, 4)), config.initrd->string());
  EXPECT_EQ(read_guest_le(memory(), module + 12, 4), 0u);

  const auto map = firmware::build_e820_map(memory());
  EXPECT_EQ(info(44), 24 * map.size());  // mmap_length
  const uint64_t mmap = info(48);
  for (size_t i = 0; i < map.size(); ++i) {
    EXPECT_EQ(read_guest_le(memory(), mmap + 24 * i, 4), 20u);  // size of the rest of the entry
    EXPECT_EQ(read_guest_le(memory(), mmap + 24 * i + 4, 8), map[i].address);
    EXPECT_EQ(read_guest_le(memory(), mmap + 24 * i + 12, 8), map[i].size);
    EXPECT_EQ(read_guest_le(memory(), mmap + 24 * i + 20, 4), static_cast<uint32_t>(map[i].type));
  }
  EXPECT_EQ(read_guest_le(memory(), mmap + 4, 8), 0u);  // first entry: RAM at 0
  EXPECT_EQ(read_guest_le(memory(), mmap + 20, 4), 1u);
  EXPECT_EQ(read_guest_string(memory(), info(64)), "keel");

  // The firmware tables are there for SMP/ACPI-aware Multiboot kernels.
  keel::testing::TestGuestMemory reference(32 * kMiB);
  const uint64_t rsdp = firmware::write_firmware_tables(reference.memory(), 1).rsdp_address;
  EXPECT_EQ(read_guest(memory(), rsdp, 8), read_guest(reference.memory(), rsdp, 8));
}

TEST_F(MultibootTest, WithoutInitrdModsCountIsZero) {
  BootConfig config;
  config.cmdline = "demo";
  const BootEntry entry = load_image(memory(), make_elf(probe_like_elf()), config);
  EXPECT_EQ(entry.format, KernelFormat::multiboot);
  EXPECT_EQ(info(20), 0u);
  EXPECT_EQ(read_guest_string(memory(), info(16)), "demo");
}

TEST_F(MultibootTest, HigherHalfEntryIsTranslatedToPhysical) {
  ElfSpec spec = probe_like_elf();
  spec.segments[0].vaddr = 0xC010'0000;
  spec.entry = 0xC010'0010;
  EXPECT_EQ(load_image(memory(), make_elf(spec), BootConfig{}).rip, 0x100010u);
}

TEST_F(MultibootTest, PageAlignFlagIsAccepted) {
  EXPECT_EQ(load_image(memory(), make_elf(probe_like_elf(0x3)), BootConfig{}).format, KernelFormat::multiboot);
}

TEST_F(MultibootTest, AoutKludgeLoadsByAddressFields) {
  std::fill_n(ram_.host(), 32 * kMiB, std::byte{0xAA});
  // 0x40 bytes of junk, then the header (at file offset 0x40 = 0x200040),
  // code up to load_end, and 0x2000 bytes of bss.
  Bytes image = pattern(0x40, 1);
  const Bytes body = pattern(0x800, 2);
  const uint32_t load_end = 0x200000 + 0x40 + 32 + 0x800;
  image = concat(image, make_multiboot_header(0x10002, MultibootAddresses{.header_addr = 0x200040,
                                                                          .load_addr = 0x200000,
                                                                          .load_end_addr = load_end,
                                                                          .bss_end_addr = load_end + 0x2000,
                                                                          .entry_addr = 0x200100}));
  image = concat(image, body);
  image = concat(image, pattern(0x300, 3));  // past load_end: not loaded

  const BootEntry entry = load_image(memory(), image, BootConfig{});
  EXPECT_EQ(entry.format, KernelFormat::multiboot);
  EXPECT_EQ(entry.rip, 0x200100u);
  EXPECT_EQ(entry.rax, 0x2BADB002u);
  EXPECT_EQ(read_guest(memory(), 0x200000, load_end - 0x200000),
            Bytes(image.begin(), image.begin() + (load_end - 0x200000)));
  EXPECT_EQ(read_guest(memory(), load_end, 0x2000), Bytes(0x2000));
}

TEST_F(MultibootTest, AoutKludgeInElfTakesPrecedence) {
  // Flag 16 in an ELF: the address fields win (as GRUB does).
  ElfSpec spec = probe_like_elf();
  const uint64_t file_offset = elf_segment_offset(spec, 0);
  const uint32_t file_size = static_cast<uint32_t>(make_elf(spec).size());
  const uint32_t load_addr = 0x300000;
  spec.segments[0].data = concat(
      make_multiboot_header(0x10000, MultibootAddresses{.header_addr = static_cast<uint32_t>(load_addr + file_offset),
                                                        .load_addr = load_addr,
                                                        .load_end_addr = 0,
                                                        .bss_end_addr = 0,
                                                        .entry_addr = load_addr + 4}),
      pattern(0x1234 - 20, 4));
  const Bytes image = make_elf(spec);
  ASSERT_EQ(image.size(), file_size);
  const BootEntry entry = load_image(memory(), image, BootConfig{});
  EXPECT_EQ(entry.rip, load_addr + 4);
  EXPECT_EQ(read_guest(memory(), load_addr, image.size()), image);  // whole file from offset 0
}

Bytes kludge_image(MultibootAddresses addresses, uint32_t flags = 0x10000) {
  return concat(make_multiboot_header(flags, addresses), pattern(0x400, 5));
}

TEST_F(MultibootTest, AoutKludgeLoadEndBelowLoadAddrIsRefused) {
  const Bytes image = kludge_image({.header_addr = 0x200000, .load_addr = 0x200000, .load_end_addr = 0x100000,
                                    .bss_end_addr = 0, .entry_addr = 0x200000});
  EXPECT_THAT([&] { load_image(memory(), image, BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(
                  HasSubstr("Multiboot load_end_addr 0x100000 is below load_addr 0x200000")));
}

TEST_F(MultibootTest, AoutKludgeMalformedFieldsAreRefused) {
  struct Case {
    MultibootAddresses addresses;
    const char* message;
  };
  const Case cases[] = {
      {{0x1FFFFF, 0x200000, 0, 0, 0x200000}, "header_addr 0x1fffff is below load_addr"},
      {{0x200010, 0x200000, 0, 0, 0x200000}, "lies before the start of the file"},
      {{0x200000, 0x200000, 0x300000, 0, 0x200000}, "load_end_addr 0x300000 lies past the end of the file"},
      {{0x200000, 0x200000, 0x200100, 0x200080, 0x200000}, "bss_end_addr 0x200080 is below"},
      {{0x200000, 0x200000, 0, 0, 0x900000}, "entry_addr 0x900000 lies outside the loaded image"},
      {{0xFFFFF000, 0xFFFFF000, 0, 0, 0xFFFFF000}, "lies outside guest RAM"},
      {{0x10000, 0x10000, 0, 0, 0x10000}, "overlaps keel's boot data"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT([&] { load_image(memory(), kludge_image(c.addresses), BootConfig{}); },
                ::testing::ThrowsMessage<ConfigError>(HasSubstr(c.message)))
        << c.message;
  }
}

TEST_F(MultibootTest, BadChecksumIsRefused) {
  ElfSpec spec = probe_like_elf();
  put_le<uint32_t>(spec.segments[0].data, 8, 0x12345678);
  const uint64_t header_offset = elf_segment_offset(spec, 0);
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr(
                  fmt::format("Multiboot header at file offset {:#x} has a bad checksum", header_offset))));
}

TEST_F(MultibootTest, HeaderPast8KiBIsNotFound) {
  ElfSpec spec = probe_like_elf();
  spec.segments[0].data = concat(pattern(8192, 0), spec.segments[0].data);
  spec.segments[0].memsz = 0;
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("32-bit ELF without a Multiboot header")));
}

TEST_F(MultibootTest, VideoModeFlagIsRefused) {
  EXPECT_THAT([&] { load_image(memory(), make_elf(probe_like_elf(0x6)), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("requests a video mode (flag 2)")));
}

TEST_F(MultibootTest, UnknownRequiredFlagIsRefused) {
  EXPECT_THAT([&] { load_image(memory(), make_elf(probe_like_elf(0x2 | 0x100)), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("requires flags 0x100")));
}

TEST_F(MultibootTest, Elf64MultibootWithoutAddressFieldsIsRefused) {
  ElfSpec spec = probe_like_elf();
  spec.is_64bit = true;
  spec.machine = 62;
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("Multiboot v1 kernels must be 32-bit ELF")));
}

TEST_F(MultibootTest, HeaderWithoutAddressFieldsInRawBinaryIsRefused) {
  const Bytes image = concat(make_multiboot_header(0x2), pattern(0x100, 1));
  EXPECT_THAT([&] { load_image(memory(), image, BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("without address fields (flag 16)")));
}

TEST_F(MultibootTest, CmdlineLongerThanItsAreaIsRefused) {
  BootConfig config;
  config.cmdline = std::string(4096, 'y');
  EXPECT_THAT([&] { load_image(memory(), make_elf(probe_like_elf()), config); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("command line is 4096 bytes")));
}

}  // namespace
}  // namespace keel::boot
