// The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit
// entry: the protected-mode kernel of a bzImage is loaded at pref_address
// (or 1 MiB), boot_params at layout::kBootParamsAddress, and the vCPU starts
// in long mode at load address + 0x200 with rsi = boot_params.
#pragma once

#include <span>

#include "keel/guest_memory.h"
#include "src/boot/boot.h"
#include "src/boot/image_view.h"
#include "src/boot/load_request.h"

namespace keel::boot {

// True when the image has the "HdrS" magic at 0x202 (the setup header).
bool looks_like_bzimage(std::span<const std::byte> image) noexcept;

// What the setup header tells the loader, validated.
struct BzImageHeader {
  uint16_t version;
  uint64_t kernel_offset;  // file offset of the protected-mode kernel
  uint64_t kernel_size;    // bytes of it in the file
  uint64_t header_end;     // 0x202 + byte at 0x201
  bool relocatable;
  uint32_t kernel_alignment;
  uint64_t pref_address;
  uint32_t init_size;
  uint32_t initrd_addr_max;  // inclusive
  uint32_t cmdline_size;
};

// Throws ConfigError for a malformed or unsupported setup header.
BzImageHeader parse_bzimage_header(const ImageView& image);

BootEntry load_bzimage(GuestMemory& memory, const ImageView& image, const LoadRequest& request);

}  // namespace keel::boot
