// The probe guest (tests/guest: a 32-bit ELF with a Multiboot header and no
// a.out kludge) is keel's default guest: it must load as Multiboot.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "src/boot/boot.h"
#include "tests/support/fakes.h"
#include "tests/unit/boot/test_images.h"

namespace keel::boot {
namespace {

using namespace keel::boot::testing;

TEST(ProbeGuest, LoadsAsMultibootElf) {
  const std::filesystem::path probe = KEEL_PROBE_ELF;
  if (!std::filesystem::exists(probe)) GTEST_SKIP() << "probe guest not built: " << probe;
  std::ifstream in(probe, std::ios::binary);
  const std::vector<char> chars{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const Bytes image(reinterpret_cast<const std::byte*>(chars.data()),
                    reinterpret_cast<const std::byte*>(chars.data()) + chars.size());
  ASSERT_GT(image.size(), 52u);

  keel::testing::TestGuestMemory ram(32ull << 20);
  BootConfig config;
  config.kernel = probe;
  config.cmdline = "demo";
  const BootEntry entry = load(ram.memory(), config);
  EXPECT_EQ(entry.format, KernelFormat::multiboot);
  EXPECT_EQ(entry.mode, EntryMode::protected_mode_32);
  EXPECT_EQ(entry.rip, get_le(image, 24, 4));  // e_entry: linked at its physical address
  EXPECT_EQ(entry.rax, 0x2BADB002u);
  EXPECT_EQ(read_guest_string(ram.memory(), read_guest_le(ram.memory(), entry.rbx + 16, 4)), "demo");

  // The same from memory, as `keel run` boots the embedded copy.
  keel::testing::TestGuestMemory ram2(32ull << 20);
  BootConfig embedded;
  embedded.cmdline = "demo";
  EXPECT_EQ(load_image(ram2.memory(), image, embedded).rip, entry.rip);
}

}  // namespace
}  // namespace keel::boot
