// Linux 64-bit boot protocol: a synthetic bzImage produces the boot_params,
// command line, initrd placement, page tables and entry state the kernel's
// Documentation/arch/x86/boot.rst asks for.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

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
constexpr uint64_t kZeroPage = 0x7000;
constexpr uint64_t kCmdline = 0x20000;

class BzImageTest : public ::testing::Test {
 protected:
  keel::testing::TestGuestMemory ram_{64 * kMiB};
  GuestMemory& memory() { return ram_.memory(); }
  TempDir dir_;

  BootEntry load_from_file(const Bytes& image, BootConfig config) {
    config.kernel = dir_.write("bzImage", image);
    return load(memory(), config);
  }
  uint64_t zero_page(uint64_t offset, size_t width) { return read_guest_le(memory(), kZeroPage + offset, width); }
};

TEST_F(BzImageTest, GoldenBootParams) {
  const Bytes image = make_bzimage();
  const Bytes initrd_bytes = pattern(3 * kMiB + 123, 0x77);
  BootConfig config;
  config.initrd = dir_.write("initrd.img", initrd_bytes);
  config.cmdline = "console=ttyS0 root=/dev/vda";
  config.cpu_count = 2;

  const BootEntry entry = load_from_file(image, config);

  // Where the initrd must go: page-aligned, as high as possible below
  // min(initrd_addr_max, end of RAM) = 64 MiB.
  const uint64_t initrd_address = (64 * kMiB - initrd_bytes.size()) & ~0xFFFull;

  // Build the expected zero page independently: the image's setup header
  // at 0x1F1..0x26C, then every field the loader is documented to set.
  Bytes expected(4096);
  std::memcpy(expected.data() + 0x1F1, image.data() + 0x1F1, 0x26C - 0x1F1);
  put_le<uint16_t>(expected, 0x1FA, 0xFFFF);            // vid_mode: normal
  put_le<uint8_t>(expected, 0x210, 0xFF);               // type_of_loader: undefined
  put_le<uint8_t>(expected, 0x211, 0x01 | 0x80);        // LOADED_HIGH | CAN_USE_HEAP
  put_le<uint32_t>(expected, 0x214, 0x100'0000);        // code32_start = load address
  put_le<uint32_t>(expected, 0x218, static_cast<uint32_t>(initrd_address));  // ramdisk_image
  put_le<uint32_t>(expected, 0x21C, static_cast<uint32_t>(initrd_bytes.size()));  // ramdisk_size
  put_le<uint16_t>(expected, 0x224, 0xFE00);            // heap_end_ptr
  put_le<uint32_t>(expected, 0x228, 0x20000);           // cmd_line_ptr
  put_le<uint64_t>(expected, 0x250, 0);                 // setup_data: none
  const auto map = firmware::build_e820_map(memory());
  put_le<uint8_t>(expected, 0x1E8, static_cast<uint8_t>(map.size()));
  for (size_t i = 0; i < map.size(); ++i) {
    put_le<uint64_t>(expected, 0x2D0 + 20 * i, map[i].address);
    put_le<uint64_t>(expected, 0x2D0 + 20 * i + 8, map[i].size);
    put_le<uint32_t>(expected, 0x2D0 + 20 * i + 16, static_cast<uint32_t>(map[i].type));
  }
  // acpi_rsdp_addr (protocol 2.15 >= 2.14): where the firmware puts the RSDP.
  keel::testing::TestGuestMemory reference(64 * kMiB);
  const uint64_t rsdp = firmware::write_firmware_tables(reference.memory(), 2).rsdp_address;
  put_le<uint64_t>(expected, 0x70, rsdp);

  const Bytes actual = read_guest(memory(), kZeroPage, 4096);
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(actual[i], expected[i]) << "boot_params byte at offset 0x" << std::hex << i;
  }

  // The RSDP really is there (firmware tables were written).
  EXPECT_GE(rsdp, 0xE0000u);
  EXPECT_LT(rsdp, 0x100000u);
  EXPECT_EQ(read_guest(memory(), rsdp, 8), (Bytes{std::byte{'R'}, std::byte{'S'}, std::byte{'D'}, std::byte{' '},
                                                  std::byte{'P'}, std::byte{'T'}, std::byte{'R'}, std::byte{' '}}));

  // The documented E820 layout from the firmware.
  ASSERT_GE(map.size(), 3u);
  EXPECT_EQ(zero_page(0x2D0, 8), 0u);
  EXPECT_EQ(zero_page(0x2D0 + 8, 8), 0x9FC00u);
  EXPECT_EQ(zero_page(0x2D0 + 16, 4), 1u);
  bool found_high_ram = false;
  for (size_t i = 0; i < map.size(); ++i) {
    if (zero_page(0x2D0 + 20 * i, 8) == kMiB) {
      found_high_ram = true;
      EXPECT_EQ(zero_page(0x2D0 + 20 * i + 8, 8), 63 * kMiB);
      EXPECT_EQ(zero_page(0x2D0 + 20 * i + 16, 4), 1u);
    }
  }
  EXPECT_TRUE(found_high_ram);

  // Command line, kernel and initrd contents.
  EXPECT_EQ(read_guest_string(memory(), kCmdline), config.cmdline);
  EXPECT_EQ(read_guest(memory(), 0x100'0000, image.size() - 0x400),
            Bytes(image.begin() + 0x400, image.end()));
  EXPECT_EQ(read_guest(memory(), initrd_address, initrd_bytes.size()), initrd_bytes);

  // 64-bit entry: startup_64 at load address + 0x200, rsi = boot_params.
  EXPECT_EQ(entry.format, KernelFormat::linux_bzimage);
  EXPECT_EQ(entry.mode, EntryMode::long_mode_64);
  EXPECT_EQ(entry.rip, 0x100'0200u);
  EXPECT_EQ(entry.rsi, kZeroPage);
  EXPECT_EQ(entry.cr3, 0x9000u);
  EXPECT_EQ(entry.gdt_base, 0x500u);
  EXPECT_EQ(entry.gdt_limit, 31u);
  EXPECT_EQ(entry.rsp, 0x6000u);
}

TEST_F(BzImageTest, WithoutInitrdRamdiskFieldsAreZero) {
  load_image(memory(), make_bzimage(), BootConfig{});  // the image carries junk there
  EXPECT_EQ(zero_page(0x218, 4), 0u);
  EXPECT_EQ(zero_page(0x21C, 4), 0u);
  EXPECT_EQ(zero_page(0xC0, 4), 0u);
  EXPECT_EQ(zero_page(0xC4, 4), 0u);
  EXPECT_EQ(zero_page(0x250, 8), 0u);
  EXPECT_EQ(read_guest_string(memory(), kCmdline), "");  // an empty command line is still there
  EXPECT_EQ(zero_page(0x228, 4), kCmdline);
}

TEST_F(BzImageTest, GdtHasLinuxBootSelectors) {
  load_image(memory(), make_bzimage(), BootConfig{});
  EXPECT_EQ(read_guest_le(memory(), 0x500, 8), 0u);
  EXPECT_EQ(read_guest_le(memory(), 0x508, 8), 0u);
  const uint64_t code = read_guest_le(memory(), 0x510, 8);
  const uint64_t data = read_guest_le(memory(), 0x518, 8);
  EXPECT_EQ(code, 0x00AF9B000000FFFFull);  // present, exec/read, L=1 (64-bit), G=1
  EXPECT_EQ(data, 0x00CF93000000FFFFull);  // present, read/write, flat 4 GiB
}

TEST_F(BzImageTest, PageTablesIdentityMapFirst4GiBWith2MiBPages) {
  load_image(memory(), make_bzimage(), BootConfig{});
  EXPECT_EQ(read_guest_le(memory(), 0x9000, 8), 0xA000u | 0x3u);
  for (uint64_t i = 1; i < 512; ++i) ASSERT_EQ(read_guest_le(memory(), 0x9000 + 8 * i, 8), 0u);
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(read_guest_le(memory(), 0xA000 + 8 * i, 8), (0xB000 + i * 0x1000) | 0x3u);
  }
  for (uint64_t i = 4; i < 512; ++i) ASSERT_EQ(read_guest_le(memory(), 0xA000 + 8 * i, 8), 0u);
  for (uint64_t page = 0; page < 2048; ++page) {
    const uint64_t pde = read_guest_le(memory(), 0xB000 + 8 * page, 8);
    ASSERT_EQ(pde, (page << 21) | 0x83u) << "2 MiB page " << page;  // P | RW | PS
  }
}

TEST_F(BzImageTest, InitrdStaysBelowInitrdAddrMax) {
  BzImageSpec spec;
  spec.initrd_addr_max = 48 * kMiB - 1;
  BootConfig config;
  config.initrd = dir_.write("initrd", pattern(kMiB + 5, 1));
  load_from_file(make_bzimage(spec), config);
  const uint64_t address = zero_page(0x218, 4);
  EXPECT_EQ(address % 4096, 0u);
  EXPECT_EQ(address, (48 * kMiB - (kMiB + 5)) & ~0xFFFull);
  EXPECT_LE(address + kMiB + 5, 48 * kMiB);
}

TEST_F(BzImageTest, InitrdGoesBelowKernelWhenItWouldOverlap) {
  keel::testing::TestGuestMemory small(32 * kMiB);
  BootConfig config;
  config.kernel = dir_.write("bzImage", make_bzimage());
  config.initrd = dir_.write("initrd", pattern(10 * kMiB, 2));
  load(small.memory(), config);
  // Kernel runs in [16 MiB, 24 MiB): the top slot [22, 32) MiB overlaps it.
  EXPECT_EQ(read_guest_le(small.memory(), kZeroPage + 0x218, 4), 6 * kMiB);
}

TEST_F(BzImageTest, NonRelocatableKernelLoadsAtOneMiB) {
  keel::testing::TestGuestMemory small(20 * kMiB);
  BzImageSpec spec;
  spec.pref_address = 0x40'0000;  // 4 MiB, runtime [4, 12) MiB
  spec.relocatable = 0;           // not relocatable: loaded at 1 MiB, runs at pref_address
  const BootEntry entry = load_image(small.memory(), make_bzimage(spec), BootConfig{});
  EXPECT_EQ(entry.rip, kMiB + 0x200);
  EXPECT_EQ(read_guest_le(small.memory(), kZeroPage + 0x214, 4), kMiB);
}

TEST_F(BzImageTest, MisalignedPrefAddressLoadsAtOneMiB) {
  BzImageSpec spec;
  spec.pref_address = 0x110'0000;  // not a multiple of kernel_alignment (2 MiB)
  const BootEntry entry = load_image(memory(), make_bzimage(spec), BootConfig{});
  EXPECT_EQ(entry.rip, kMiB + 0x200);
}

TEST_F(BzImageTest, OldProtocolHasNoAcpiRsdpField) {
  BzImageSpec spec;
  spec.version = 0x020C;  // 2.12: xloadflags yes, acpi_rsdp_addr no
  load_image(memory(), make_bzimage(spec), BootConfig{});
  EXPECT_EQ(zero_page(0x70, 8), 0u);
}

TEST_F(BzImageTest, CmdlineAtTheKernelsLimitIsAccepted) {
  BzImageSpec spec;
  spec.cmdline_size = 16;
  BootConfig config;
  config.cmdline = std::string(16, 'x');
  load_image(memory(), make_bzimage(spec), config);
  EXPECT_EQ(read_guest_string(memory(), kCmdline), config.cmdline);
}

struct BadBzImage {
  const char* name;
  BzImageSpec spec;
  const char* message;
};

class BzImageRefused : public BzImageTest, public ::testing::WithParamInterface<BadBzImage> {};

TEST_P(BzImageRefused, WithMessage) {
  const BadBzImage& bad = GetParam();
  try {
    load_image(memory(), make_bzimage(bad.spec), BootConfig{});
    FAIL() << "loaded";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr(bad.message));
    EXPECT_THAT(error.what(), HasSubstr("kernel image"));
  }
}

BzImageSpec with(auto change) {
  BzImageSpec spec;
  change(spec);
  return spec;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, BzImageRefused,
    ::testing::Values(
        BadBzImage{"BadBootFlag", with([](auto& s) { s.boot_flag = 0x1234; }), "boot sector signature 0x1234"},
        BadBzImage{"ProtocolTooOld", with([](auto& s) { s.version = 0x0204; }), "boot protocol 2.04 is too old"},
        BadBzImage{"NoXloadflags", with([](auto& s) { s.version = 0x020A; }), "2.10 has no xloadflags"},
        BadBzImage{"Not64Bit", with([](auto& s) { s.xloadflags = 0x0002; }),
                   "kernel image has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear)"},
        BadBzImage{"ZImage", with([](auto& s) { s.loadflags = 0; }), "kernel image is a zImage"},
        BadBzImage{"HeaderTooShort", with([](auto& s) { s.header_length = 0x20; }), "truncated setup header"},
        BadBzImage{"HeaderTooLong", with([](auto& s) { s.header_length = 0xF0; }), "past the room"},
        BadBzImage{"TooBigForRam", with([](auto& s) { s.init_size = 200 * kMiB; }), "needs guest RAM up to"},
        BadBzImage{"PrefWraps", with([](auto& s) { s.relocatable = 0; s.pref_address = ~0ull - 4096; }), "wraps"},
        BadBzImage{"BadAlignment", with([](auto& s) { s.kernel_alignment = 0x300000; }), "not a power of two"},
        BadBzImage{"ZeroInitSize", with([](auto& s) { s.init_size = 0; }), "init_size is 0"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(BzImageTest, SetupSectsPastEndOfFileIsRefused) {
  BzImageSpec spec;
  Bytes image = make_bzimage(spec);
  put_le<uint8_t>(image, 0x1F1, 200);
  EXPECT_THAT([&] { load_image(memory(), image, BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("setup_sects (200) points past the end of the file")));
}

// Found by the bzimage fuzz target: a protected-mode kernel shorter than
// 0x201 bytes was loaded and the vCPU entered past its end.
TEST_F(BzImageTest, KernelWithoutRoomForThe64BitEntryIsRefused) {
  EXPECT_THAT([&] { load_image(memory(), make_bzimage(BzImageSpec{.kernel_size = 0x200}), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(
                  HasSubstr("the protected-mode kernel is 512 bytes, too small to hold the 64-bit entry at +0x200")));
  EXPECT_NO_THROW(load_image(memory(), make_bzimage(BzImageSpec{.kernel_size = 0x201}), BootConfig{}));
}

TEST_F(BzImageTest, TruncatedFileIsRefused) {
  Bytes image = make_bzimage();
  image.resize(0x220);
  EXPECT_THAT([&] { load_from_file(image, BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr(": truncated setup header")));
}

TEST_F(BzImageTest, CmdlineTooLongIsRefused) {
  BzImageSpec spec;
  spec.cmdline_size = 16;
  BootConfig config;
  config.cmdline = std::string(17, 'x');
  EXPECT_THAT([&] { load_image(memory(), make_bzimage(spec), config); },
              ::testing::ThrowsMessage<ConfigError>(
                  HasSubstr("command line is 17 bytes; kernel image accepts at most 16")));
}

TEST_F(BzImageTest, InitrdTooBigIsRefused) {
  keel::testing::TestGuestMemory small(32 * kMiB);
  BootConfig config;
  config.kernel = dir_.write("bzImage", make_bzimage());
  config.initrd = dir_.write("big.img", pattern(40 * kMiB, 3));
  EXPECT_THAT([&] { load(small.memory(), config); },
              ::testing::ThrowsMessage<ConfigError>(::testing::MatchesRegex(
                  "initrd '.*/big.img' \\(40 MiB\\) does not fit in guest RAM below 0x1ffffff")));
}

TEST_F(BzImageTest, InitrdThatCanOnlyOverlapTheKernelIsRefused) {
  keel::testing::TestGuestMemory small(32 * kMiB);
  BootConfig config;
  config.kernel = dir_.write("bzImage", make_bzimage());
  // 15.5 MiB: above the kernel only 8 MiB are free, below it 15 MiB.
  config.initrd = dir_.write("initrd", pattern(15 * kMiB + kMiB / 2, 4));
  EXPECT_THAT([&] { load(small.memory(), config); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("beside the kernel at [0x1000000, 0x1800000)")));
}

TEST_F(BzImageTest, InitrdBelowLowInitrdAddrMaxIsRefused) {
  BzImageSpec spec;
  spec.initrd_addr_max = 0x37FFFFF;  // 56 MiB - 1
  BootConfig config;
  config.initrd = dir_.write("initrd", pattern(60 * kMiB, 5));
  EXPECT_THAT([&] { load_from_file(make_bzimage(spec), config); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("(60 MiB) does not fit in guest RAM below 0x37fffff")));
}

}  // namespace
}  // namespace keel::boot
