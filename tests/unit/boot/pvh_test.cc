// PVH: an ELF kernel with a Xen PHYS32_ENTRY note is loaded by its program
// headers and gets a struct hvm_start_info (version 1) in ebx.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
constexpr uint64_t kStartInfo = 0x6000;

Bytes le64(uint64_t value) {
  Bytes bytes;
  put_le<uint64_t>(bytes, 0, value);
  return bytes;
}
Bytes le32(uint32_t value) {
  Bytes bytes;
  put_le<uint32_t>(bytes, 0, value);
  return bytes;
}

// A vmlinux-like ELF64: text linked high, loaded at 16 MiB, with bss, and
// the PVH note in a PT_NOTE segment (8-byte value, as Linux's _ASM_PTR).
ElfSpec linux_like_pvh(Bytes note_desc = le64(0x100'0040)) {
  ElfSpec spec;
  spec.is_64bit = true;
  spec.machine = 62;
  spec.entry = 0xFFFF'FFFF'8100'0000;
  spec.segments.push_back({.type = 1, .vaddr = 0xFFFF'FFFF'8100'0000, .paddr = 0x100'0000,
                           .data = pattern(0x2000, 9), .memsz = 0x5000, .align = 0x200000});
  spec.segments.push_back({.type = 4, .vaddr = 0, .paddr = 0,
                           .data = make_note("Xen", 18, note_desc), .memsz = 0, .align = 4});
  return spec;
}

class PvhTest : public ::testing::Test {
 protected:
  keel::testing::TestGuestMemory ram_{32 * kMiB};
  GuestMemory& memory() { return ram_.memory(); }
  TempDir dir_;
  uint64_t info(uint64_t offset, size_t width) { return read_guest_le(memory(), kStartInfo + offset, width); }
};

TEST_F(PvhTest, StartInfoAndSegments) {
  std::fill_n(ram_.host(), 32 * kMiB, std::byte{0xAA});  // bss must be zeroed by the loader
  const ElfSpec spec = linux_like_pvh();
  const Bytes image = make_elf(spec);
  const Bytes initrd = pattern(2 * kMiB + 7, 3);
  BootConfig config;
  config.kernel = dir_.write("vmlinux", image);
  config.initrd = dir_.write("initrd", initrd);
  config.cmdline = "console=hvc0";

  const BootEntry entry = load(memory(), config);

  EXPECT_EQ(entry.format, KernelFormat::elf_pvh);
  EXPECT_EQ(entry.mode, EntryMode::protected_mode_32);
  EXPECT_EQ(entry.rip, 0x100'0040u);
  EXPECT_EQ(entry.rbx, kStartInfo);
  EXPECT_EQ(entry.cr3, 0u);  // paging off
  EXPECT_EQ(read_guest_le(memory(), 0x510, 8), 0x00CF9B000000FFFFull);  // 32-bit flat code at 0x10
  EXPECT_EQ(read_guest_le(memory(), 0x518, 8), 0x00CF93000000FFFFull);

  // Segment bytes at p_paddr, bss zero.
  EXPECT_EQ(read_guest(memory(), 0x100'0000, 0x2000), spec.segments[0].data);
  EXPECT_EQ(read_guest(memory(), 0x100'2000, 0x3000), Bytes(0x3000));

  // struct hvm_start_info
  EXPECT_EQ(info(0, 4), 0x336EC578u);  // magic
  EXPECT_EQ(info(4, 4), 1u);           // version
  EXPECT_EQ(info(8, 4), 0u);           // flags
  EXPECT_EQ(info(12, 4), 1u);          // nr_modules
  const uint64_t modlist = info(16, 8);
  EXPECT_EQ(read_guest_string(memory(), info(24, 8)), "console=hvc0");
  keel::testing::TestGuestMemory reference(32 * kMiB);
  EXPECT_EQ(info(32, 8), firmware::write_firmware_tables(reference.memory(), 1).rsdp_address);
  const uint64_t memmap = info(40, 8);
  const uint64_t entries = info(48, 4);
  EXPECT_EQ(info(52, 4), 0u);

  // hvm_modlist_entry for the initrd: page-aligned, high, clear of the kernel.
  const uint64_t initrd_address = read_guest_le(memory(), modlist, 8);
  EXPECT_EQ(initrd_address, (32 * kMiB - initrd.size()) & ~0xFFFull);
  EXPECT_EQ(read_guest_le(memory(), modlist + 8, 8), initrd.size());
  EXPECT_EQ(read_guest_le(memory(), modlist + 16, 8), 0u);
  EXPECT_EQ(read_guest(memory(), initrd_address, initrd.size()), initrd);

  // hvm_memmap_table_entry[] == the firmware's E820 map.
  const auto map = firmware::build_e820_map(memory());
  ASSERT_EQ(entries, map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    EXPECT_EQ(read_guest_le(memory(), memmap + 24 * i, 8), map[i].address);
    EXPECT_EQ(read_guest_le(memory(), memmap + 24 * i + 8, 8), map[i].size);
    EXPECT_EQ(read_guest_le(memory(), memmap + 24 * i + 16, 4), static_cast<uint32_t>(map[i].type));
    EXPECT_EQ(read_guest_le(memory(), memmap + 24 * i + 20, 4), 0u);
  }
  // Everything the kernel is pointed at lies below 1 MiB and outside the BIOS area.
  for (uint64_t address : {modlist, memmap, info(24, 8)}) EXPECT_LT(address, 0x9FC00u);
}

TEST_F(PvhTest, Elf32WithFourByteNoteAndNoInitrd) {
  ElfSpec spec;
  spec.entry = 0x200000;
  spec.segments.push_back({.type = 1, .vaddr = 0x200000, .paddr = 0x200000, .data = pattern(0x100, 1)});
  spec.segments.push_back({.type = 4, .data = make_note("Xen", 18, le32(0x200010))});
  const BootEntry entry = load_image(memory(), make_elf(spec), BootConfig{});
  EXPECT_EQ(entry.format, KernelFormat::elf_pvh);
  EXPECT_EQ(entry.rip, 0x200010u);
  EXPECT_EQ(info(12, 4), 0u);  // nr_modules
  EXPECT_EQ(read_guest_string(memory(), info(24, 8)), "");
}

TEST_F(PvhTest, OtherNotesAreSkipped) {
  ElfSpec spec = linux_like_pvh();
  Bytes notes = make_note("GNU", 3, pattern(20, 0));
  const Bytes xen_other = make_note("Xen", 6, le32(0));  // XEN_ELFNOTE_LOADER
  notes.insert(notes.end(), xen_other.begin(), xen_other.end());
  const Bytes entry_note = make_note("Xen", 18, le64(0x100'0080));
  notes.insert(notes.end(), entry_note.begin(), entry_note.end());
  spec.segments[1].data = notes;
  EXPECT_EQ(load_image(memory(), make_elf(spec), BootConfig{}).rip, 0x100'0080u);
}

TEST_F(PvhTest, EntryAbove4GiBIsRefused) {
  EXPECT_THAT([&] { load_image(memory(), make_elf(linux_like_pvh(le64(0x1'0000'0000))), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("PVH entry 0x100000000 is above 4 GiB")));
}

TEST_F(PvhTest, EntryOutsideRamIsRefused) {
  EXPECT_THAT([&] { load_image(memory(), make_elf(linux_like_pvh(le64(0x8000'0000))), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("PVH entry point 0x80000000 is not in guest RAM")));
}

TEST_F(PvhTest, NoteRunningPastItsSegmentIsRefused) {
  ElfSpec spec = linux_like_pvh();
  put_le<uint32_t>(spec.segments[1].data, 4, 4096);  // descsz far past the segment
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("malformed ELF note")));
}

TEST_F(PvhTest, SegmentOutsideRamIsRefused) {
  ElfSpec spec = linux_like_pvh();
  spec.segments[0].paddr = 0x4000'0000;  // 1 GiB, RAM is 32 MiB
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(
                  HasSubstr("kernel image: ELF segment 0 [0x40000000, 0x40005000) lies outside guest RAM")));
}

TEST_F(PvhTest, SegmentOverBootDataIsRefused) {
  ElfSpec spec = linux_like_pvh();
  spec.segments[0].paddr = 0x7000;
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("overlaps keel's boot data")));
}

TEST_F(PvhTest, SegmentOverBiosAreaIsRefused) {
  ElfSpec spec = linux_like_pvh();
  spec.segments[0].paddr = 0xF0000;
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("overlaps the BIOS area")));
}

TEST_F(PvhTest, Elf64WithoutPvhNoteOrMultibootIsRefused) {
  ElfSpec spec = linux_like_pvh();
  spec.segments.pop_back();
  EXPECT_THAT([&] { load_image(memory(), make_elf(spec), BootConfig{}); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr(
                  "kernel image is a 64-bit ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) or a Multiboot "
                  "header")));
}

}  // namespace
}  // namespace keel::boot
