// Files that are missing, empty or not kernels at all, and a fuzz-style
// sweep: random bytes, truncations and bit flips of valid images of every
// format must end in success or ConfigError — never a crash, another
// exception, or an access outside guest RAM (run under ASan/UBSan too).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "src/boot/boot.h"
#include "tests/support/fakes.h"
#include "tests/unit/boot/test_images.h"

namespace keel::boot {
namespace {

using namespace keel::boot::testing;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr uint64_t kMiB = 1ull << 20;

class MalformedInputTest : public ::testing::Test {
 protected:
  keel::testing::TestGuestMemory ram_{32 * kMiB};
  GuestMemory& memory() { return ram_.memory(); }
  TempDir dir_;
};

TEST_F(MalformedInputTest, MissingKernelFile) {
  BootConfig config;
  config.kernel = "/nonexistent/vmlinuz";
  EXPECT_THAT([&] { load(memory(), config); },
              ThrowsMessage<ConfigError>(
                  ::testing::StrEq("cannot open kernel '/nonexistent/vmlinuz': No such file or directory")));
}

TEST_F(MalformedInputTest, MissingInitrdFile) {
  BootConfig config;
  config.kernel = dir_.write("bzImage", make_bzimage());
  config.initrd = dir_.path() / "missing.img";
  EXPECT_THAT([&] { load(memory(), config); },
              ThrowsMessage<ConfigError>(::testing::MatchesRegex(
                  "cannot open initrd '.*/missing.img': No such file or directory")));
}

TEST_F(MalformedInputTest, KernelIsADirectory) {
  BootConfig config;
  config.kernel = dir_.path();
  EXPECT_THAT([&] { load(memory(), config); }, ThrowsMessage<ConfigError>(HasSubstr("Is a directory")));
}

TEST_F(MalformedInputTest, EmptyKernelFile) {
  BootConfig config;
  config.kernel = dir_.write("empty", Bytes{});
  EXPECT_THAT([&] { load(memory(), config); },
              ThrowsMessage<ConfigError>(::testing::MatchesRegex("kernel '.*/empty' is empty")));
}

TEST_F(MalformedInputTest, EmptyInMemoryImage) {
  EXPECT_THAT([&] { load_image(memory(), {}, BootConfig{}); },
              ThrowsMessage<ConfigError>(HasSubstr("kernel image is empty")));
}

TEST_F(MalformedInputTest, EmptyInitrdFile) {
  BootConfig config;
  config.kernel = dir_.write("bzImage", make_bzimage());
  config.initrd = dir_.write("initrd", Bytes{});
  EXPECT_THAT([&] { load(memory(), config); },
              ThrowsMessage<ConfigError>(::testing::MatchesRegex("initrd '.*/initrd' is empty")));
}

TEST_F(MalformedInputTest, KernelLargerThanRam) {
  BootConfig config;
  config.kernel = dir_.write("huge", Bytes(33 * kMiB));
  EXPECT_THAT([&] { load(memory(), config); },
              ThrowsMessage<ConfigError>(HasSubstr("(33 MiB) is larger than guest RAM (32 MiB)")));
}

TEST_F(MalformedInputTest, NotAKernel) {
  BootConfig config;
  config.kernel = dir_.write("notes.txt", pattern(5000, 3));
  EXPECT_THAT([&] { load(memory(), config); },
              ThrowsMessage<ConfigError>(::testing::MatchesRegex(
                  "kernel '.*/notes.txt' is not a bzImage, PVH ELF or Multiboot image")));
}

TEST_F(MalformedInputTest, ElfProgramHeadersPastEndOfFile) {
  ElfSpec spec;
  spec.entry = 0x100000;
  spec.segments.push_back({.type = 1, .vaddr = 0x100000, .paddr = 0x100000, .data = make_multiboot_header(2)});
  Bytes image = make_elf(spec);
  put_le<uint32_t>(image, 28, static_cast<uint32_t>(image.size() - 8));  // e_phoff near the end
  EXPECT_THAT([&] { load_image(memory(), image, BootConfig{}); },
              ThrowsMessage<ConfigError>(HasSubstr("ELF program header table at offset")));
}

TEST_F(MalformedInputTest, ElfSegmentFileBytesPastEndOfFile) {
  ElfSpec spec;
  spec.entry = 0x100000;
  spec.segments.push_back({.type = 1, .vaddr = 0x100000, .paddr = 0x100000, .data = make_multiboot_header(2)});
  Bytes image = make_elf(spec);
  put_le<uint32_t>(image, 52 + 16, 0x10000);  // p_filesz
  put_le<uint32_t>(image, 52 + 20, 0x10000);  // p_memsz
  EXPECT_THAT([&] { load_image(memory(), image, BootConfig{}); },
              ThrowsMessage<ConfigError>(HasSubstr("ELF segment 0 at file offset")));
}

TEST_F(MalformedInputTest, ElfFilesizeAboveMemsz) {
  ElfSpec spec;
  spec.entry = 0x100000;
  spec.segments.push_back({.type = 1, .vaddr = 0x100000, .paddr = 0x100000, .data = make_multiboot_header(2)});
  Bytes image = make_elf(spec);
  put_le<uint32_t>(image, 52 + 20, 4);  // p_memsz < p_filesz
  EXPECT_THAT([&] { load_image(memory(), image, BootConfig{}); },
              ThrowsMessage<ConfigError>(HasSubstr("p_filesz 0xc > p_memsz 0x4")));
}

TEST_F(MalformedInputTest, ElfWrongMachineOrEndianness) {
  ElfSpec spec;
  spec.machine = 40;  // ARM
  spec.segments.push_back({.type = 1, .vaddr = 0x100000, .paddr = 0x100000, .data = make_multiboot_header(2)});
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ThrowsMessage<ConfigError>(HasSubstr("ELF machine 40 is not x86")));
  spec.machine = 3;
  Bytes image = make_elf(spec);
  image[5] = std::byte{2};
  EXPECT_THAT([&] { load_image(memory(), image, BootConfig{}); },
              ThrowsMessage<ConfigError>(HasSubstr("not little-endian")));
}

// --- fuzz-style sweep ------------------------------------------------------

Bytes valid_bzimage() { return make_bzimage(BzImageSpec{.kernel_size = 0x800}); }

Bytes valid_multiboot_elf() {
  ElfSpec spec;
  spec.entry = 0x100010;
  Bytes data = make_multiboot_header(0x3);
  const Bytes body = pattern(0x200, 1);
  data.insert(data.end(), body.begin(), body.end());
  spec.segments.push_back({.type = 1, .vaddr = 0x100000, .paddr = 0x100000, .data = data, .memsz = 0x1000});
  return make_elf(spec);
}

Bytes valid_pvh_elf() {
  ElfSpec spec;
  spec.is_64bit = true;
  spec.machine = 62;
  spec.entry = 0x200000;
  Bytes desc;
  put_le<uint64_t>(desc, 0, 0x200000);
  spec.segments.push_back({.type = 1, .vaddr = 0x200000, .paddr = 0x200000, .data = pattern(0x100, 2),
                           .memsz = 0x2000});
  spec.segments.push_back({.type = 4, .data = make_note("Xen", 18, desc)});
  return make_elf(spec);
}

Bytes valid_aout_kludge() {
  Bytes image = make_multiboot_header(0x10003, MultibootAddresses{.header_addr = 0x300000, .load_addr = 0x300000,
                                                                  .load_end_addr = 0, .bss_end_addr = 0x302000,
                                                                  .entry_addr = 0x300020});
  const Bytes body = pattern(0x300, 6);
  image.insert(image.end(), body.begin(), body.end());
  return image;
}

class FuzzTest : public MalformedInputTest {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }  // one info line per load is noise here
  void TearDown() override { spdlog::set_level(spdlog::level::info); }
  // Loads `image`; returns true on success, false on ConfigError. Any other
  // exception escapes and fails the test.
  bool try_load(std::span<const std::byte> image) {
    try {
      BootConfig config;
      config.cmdline = "fuzz";
      config.cpu_count = 2;
      load_image(memory(), image, config);
      return true;
    } catch (const ConfigError& error) {
      EXPECT_THAT(error.what(), HasSubstr("kernel image"));
      return false;
    }
  }
};

TEST_F(FuzzTest, ValidImagesLoad) {
  for (const Bytes& image : {valid_bzimage(), valid_multiboot_elf(), valid_pvh_elf(), valid_aout_kludge()}) {
    EXPECT_TRUE(try_load(image));
  }
}

TEST_F(FuzzTest, TruncationsNeverCrash) {
  int cases = 0;
  for (const Bytes& image : {valid_bzimage(), valid_multiboot_elf(), valid_pvh_elf(), valid_aout_kludge()}) {
    const size_t step = std::max<size_t>(1, image.size() / 97);
    for (size_t length = 0; length < image.size(); length += step) {
      try_load(std::span(image).first(length));
      ++cases;
    }
  }
  EXPECT_GE(cases, 300);
}

TEST_F(FuzzTest, BitFlipsAndFieldStompsNeverCrash) {
  std::mt19937_64 random(20261123);
  int loaded = 0;
  for (const Bytes& valid : {valid_bzimage(), valid_multiboot_elf(), valid_pvh_elf(), valid_aout_kludge()}) {
    // Corrupt mostly the headers, where the offsets and sizes live.
    const size_t hot = std::min<size_t>(valid.size(), 0x300);
    for (int round = 0; round < 150; ++round) {
      Bytes image = valid;
      const int edits = 1 + static_cast<int>(random() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t at = random() % (random() % 4 == 0 ? image.size() : hot);
        switch (random() % 3) {
          case 0: image[at] ^= static_cast<std::byte>(1u << (random() % 8)); break;
          case 1: image[at] = static_cast<std::byte>(random()); break;
          default:  // stomp a 32-bit field with an extreme value
            if (at + 4 <= image.size()) {
              const uint32_t extremes[] = {0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFF0, 0x1000};
              put_le<uint32_t>(image, at & ~size_t{3}, extremes[random() % 7]);
            }
        }
      }
      loaded += try_load(image) ? 1 : 0;
    }
  }
  // Some mutations hit bytes nobody reads: not every case may fail.
  EXPECT_GT(loaded, 0);
}

TEST_F(FuzzTest, RandomBytesNeverCrash) {
  std::mt19937_64 random(42);
  const char* prefixes[] = {"", "\x7f" "ELF\x01\x01\x01", "\x7f" "ELF\x02\x01\x01"};
  for (int round = 0; round < 300; ++round) {
    Bytes image(random() % 9000);
    for (auto& byte : image) byte = static_cast<std::byte>(random());
    const std::string_view prefix = prefixes[round % 3];
    for (size_t i = 0; i < prefix.size() && i < image.size(); ++i) image[i] = static_cast<std::byte>(prefix[i]);
    if (round % 5 == 0 && image.size() >= 0x210) std::memcpy(image.data() + 0x202, "HdrS", 4);
    if (round % 7 == 0 && image.size() >= 64) {
      const Bytes header = make_multiboot_header(0x10000 | (random() & 3),
                                                 MultibootAddresses{static_cast<uint32_t>(random()),
                                                                    static_cast<uint32_t>(random()),
                                                                    static_cast<uint32_t>(random()),
                                                                    static_cast<uint32_t>(random()),
                                                                    static_cast<uint32_t>(random())});
      std::memcpy(image.data() + 32, header.data(), header.size());
    }
    try_load(image);
  }
}

}  // namespace
}  // namespace keel::boot
