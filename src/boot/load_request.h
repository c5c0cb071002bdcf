// What every format loader gets besides the kernel image, and the steps they
// share: the command line, the initrd, the firmware tables.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "keel/guest_memory.h"
#include "src/boot/boot_memory.h"
#include "src/boot/image_file.h"
#include "src/boot/image_view.h"
#include "src/firmware/firmware_tables.h"

namespace keel::boot {

struct LoadRequest {
  const InputFile* initrd = nullptr;  // none when null
  std::string_view cmdline;
  uint32_t cpu_count = 1;
};

// Writes `cmdline` + NUL at layout::kCmdlineAddress. `max_length` is the
// longest command line the kernel accepts (without the NUL); it is also
// capped by the command-line area. Throws ConfigError naming both lengths.
void write_cmdline(GuestMemory& memory, const ImageView& kernel, std::string_view cmdline, uint64_t max_length);

struct PlacedInitrd {
  uint64_t address;
  uint64_t size;
};

// Puts the initrd page-aligned as high as possible inside
// [1 MiB, limit_end) without overlapping `avoid` (the kernel), and reads the
// file there. Throws ConfigError("initrd '/y' (N MiB) does not fit in guest
// RAM below 0x...") when there is no room.
PlacedInitrd load_initrd(GuestMemory& memory, const InputFile& initrd, uint64_t limit_end,
                         std::span<const GuestRange> avoid);

// The firmware's E820 map for `memory`, checked to hold at most
// `max_entries` entries.
std::vector<firmware::E820Entry> memory_map(const GuestMemory& memory, size_t max_entries);

}  // namespace keel::boot
