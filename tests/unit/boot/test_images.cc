#include "tests/unit/boot/test_images.h"

#include <stdlib.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace keel::boot::testing {

Bytes pattern(size_t size, uint8_t seed) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 7 + seed + (i >> 8)) & 0xFF);
  return bytes;
}

uint64_t get_le(std::span<const std::byte> bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint64_t>(bytes[offset + i]) << (8 * i);
  return value;
}

Bytes make_bzimage(const BzImageSpec& spec) {
  const size_t setup_size = (size_t{spec.setup_sects == 0 ? 4u : spec.setup_sects} + 1) * 512;
  Bytes image = pattern(setup_size, 0x11);  // real-mode code: junk the loader must not care about
  std::memset(image.data() + 0x1F1, 0, 0x290 - 0x1F1);
  put_le<uint8_t>(image, 0x1F1, spec.setup_sects);
  put_le<uint16_t>(image, 0x1F2, 1);       // root_flags
  put_le<uint32_t>(image, 0x1F4, 0x1234);  // syssize
  put_le<uint16_t>(image, 0x1FA, 0x0300);  // vid_mode: the loader must overwrite it
  put_le<uint16_t>(image, 0x1FC, 0x0801);  // root_dev
  put_le<uint16_t>(image, 0x1FE, spec.boot_flag);
  put_le<uint8_t>(image, 0x200, 0xEB);
  put_le<uint8_t>(image, 0x201, spec.header_length);
  std::memcpy(image.data() + 0x202, "HdrS", 4);
  put_le<uint16_t>(image, 0x206, spec.version);
  put_le<uint16_t>(image, 0x20E, 0x3456);  // kernel_version
  put_le<uint8_t>(image, 0x211, spec.loadflags);
  put_le<uint32_t>(image, 0x214, 0x100000);  // code32_start
  put_le<uint32_t>(image, 0x218, 0xDEADB000);  // ramdisk_image: junk the loader must clear
  put_le<uint32_t>(image, 0x21C, 0x1000);      // ramdisk_size: junk
  put_le<uint32_t>(image, 0x22C, spec.initrd_addr_max);
  put_le<uint32_t>(image, 0x230, spec.kernel_alignment);
  put_le<uint8_t>(image, 0x234, spec.relocatable);
  put_le<uint8_t>(image, 0x235, 21);  // min_alignment
  put_le<uint16_t>(image, 0x236, spec.xloadflags);
  put_le<uint32_t>(image, 0x238, spec.cmdline_size);
  put_le<uint32_t>(image, 0x248, 0x2A0);   // payload_offset
  put_le<uint32_t>(image, 0x24C, 0x1000);  // payload_length
  put_le<uint64_t>(image, 0x250, 0xBAD0'0000);  // setup_data: junk the loader must clear
  put_le<uint64_t>(image, 0x258, spec.pref_address);
  put_le<uint32_t>(image, 0x260, spec.init_size);
  put_le<uint32_t>(image, 0x264, 0x190);  // handover_offset
  put_le<uint32_t>(image, 0x268, 0x1C0);  // kernel_info_offset
  image.resize(setup_size);
  const Bytes kernel = pattern(spec.kernel_size, 0x5A);
  image.insert(image.end(), kernel.begin(), kernel.end());
  return image;
}

namespace {
size_t header_size(const ElfSpec& spec) { return spec.is_64bit ? 64 : 52; }
size_t phdr_size(const ElfSpec& spec) { return spec.is_64bit ? 56 : 32; }
size_t align4(size_t value) { return (value + 3) & ~size_t{3}; }
}  // namespace

uint64_t elf_segment_offset(const ElfSpec& spec, size_t index) {
  size_t offset = align4(header_size(spec) + spec.segments.size() * phdr_size(spec));
  for (size_t i = 0; i < index; ++i) offset = align4(offset + spec.segments[i].data.size());
  return offset;
}

Bytes make_elf(const ElfSpec& spec) {
  Bytes image(elf_segment_offset(spec, spec.segments.size()));
  std::memcpy(image.data(), "\x7f" "ELF", 4);
  put_le<uint8_t>(image, 4, spec.is_64bit ? 2 : 1);
  put_le<uint8_t>(image, 5, 1);  // little-endian
  put_le<uint8_t>(image, 6, 1);  // EV_CURRENT
  put_le<uint16_t>(image, 16, 2);  // ET_EXEC
  put_le<uint16_t>(image, 18, spec.machine);
  put_le<uint32_t>(image, 20, 1);
  const uint64_t phoff = header_size(spec);
  if (spec.is_64bit) {
    put_le<uint64_t>(image, 24, spec.entry);
    put_le<uint64_t>(image, 32, phoff);
    put_le<uint16_t>(image, 52, 64);
    put_le<uint16_t>(image, 54, 56);
    put_le<uint16_t>(image, 56, static_cast<uint16_t>(spec.segments.size()));
  } else {
    put_le<uint32_t>(image, 24, static_cast<uint32_t>(spec.entry));
    put_le<uint32_t>(image, 28, static_cast<uint32_t>(phoff));
    put_le<uint16_t>(image, 40, 52);
    put_le<uint16_t>(image, 42, 32);
    put_le<uint16_t>(image, 44, static_cast<uint16_t>(spec.segments.size()));
  }
  for (size_t i = 0; i < spec.segments.size(); ++i) {
    const ElfSegmentSpec& segment = spec.segments[i];
    const uint64_t at = phoff + i * phdr_size(spec);
    const uint64_t offset = elf_segment_offset(spec, i);
    const uint64_t memsz = segment.memsz != 0 ? segment.memsz : segment.data.size();
    if (spec.is_64bit) {
      put_le<uint32_t>(image, at, segment.type);
      put_le<uint32_t>(image, at + 4, 7);
      put_le<uint64_t>(image, at + 8, offset);
      put_le<uint64_t>(image, at + 16, segment.vaddr);
      put_le<uint64_t>(image, at + 24, segment.paddr);
      put_le<uint64_t>(image, at + 32, segment.data.size());
      put_le<uint64_t>(image, at + 40, memsz);
      put_le<uint64_t>(image, at + 48, segment.align);
    } else {
      put_le<uint32_t>(image, at, segment.type);
      put_le<uint32_t>(image, at + 4, static_cast<uint32_t>(offset));
      put_le<uint32_t>(image, at + 8, static_cast<uint32_t>(segment.vaddr));
      put_le<uint32_t>(image, at + 12, static_cast<uint32_t>(segment.paddr));
      put_le<uint32_t>(image, at + 16, static_cast<uint32_t>(segment.data.size()));
      put_le<uint32_t>(image, at + 20, static_cast<uint32_t>(memsz));
      put_le<uint32_t>(image, at + 24, 7);
      put_le<uint32_t>(image, at + 28, static_cast<uint32_t>(segment.align));
    }
    if (!segment.data.empty()) std::memcpy(image.data() + offset, segment.data.data(), segment.data.size());
  }
  return image;
}

Bytes make_note(const std::string& name, uint32_t type, const Bytes& desc) {
  Bytes note;
  put_le<uint32_t>(note, 0, static_cast<uint32_t>(name.size() + 1));
  put_le<uint32_t>(note, 4, static_cast<uint32_t>(desc.size()));
  put_le<uint32_t>(note, 8, type);
  note.resize(12 + align4(name.size() + 1));
  std::memcpy(note.data() + 12, name.c_str(), name.size() + 1);
  const size_t desc_at = note.size();
  note.resize(desc_at + align4(desc.size()));
  if (!desc.empty()) std::memcpy(note.data() + desc_at, desc.data(), desc.size());
  return note;
}

Bytes make_multiboot_header(uint32_t flags, std::optional<MultibootAddresses> addresses) {
  Bytes header;
  put_le<uint32_t>(header, 0, 0x1BADB002);
  put_le<uint32_t>(header, 4, flags);
  put_le<uint32_t>(header, 8, static_cast<uint32_t>(0u - (0x1BADB002u + flags)));
  if (addresses) {
    put_le<uint32_t>(header, 12, addresses->header_addr);
    put_le<uint32_t>(header, 16, addresses->load_addr);
    put_le<uint32_t>(header, 20, addresses->load_end_addr);
    put_le<uint32_t>(header, 24, addresses->bss_end_addr);
    put_le<uint32_t>(header, 28, addresses->entry_addr);
  }
  return header;
}

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "keel-boot-test-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::write(const std::string& name, std::span<const std::byte> bytes) const {
  const auto file = path_ / name;
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return file;
}

Bytes read_guest(const GuestMemory& memory, uint64_t address, uint64_t size) {
  Bytes bytes(size);
  if (!memory.read(Gpa{address}, bytes)) throw std::runtime_error("guest read out of bounds");
  return bytes;
}

uint64_t read_guest_le(const GuestMemory& memory, uint64_t address, size_t width) {
  return get_le(read_guest(memory, address, width), 0, width);
}

std::string read_guest_string(const GuestMemory& memory, uint64_t address) {
  std::string text;
  for (;;) {
    const auto c = static_cast<char>(read_guest_le(memory, address + text.size(), 1));
    if (c == '\0') return text;
    text.push_back(c);
  }
}

}  // namespace keel::boot::testing
