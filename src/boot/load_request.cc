#include "src/boot/load_request.h"

#include <algorithm>

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/boot/boot_layout.h"

namespace keel::boot {

void write_cmdline(GuestMemory& memory, const ImageView& kernel, std::string_view cmdline, uint64_t max_length) {
  const uint64_t limit = std::min<uint64_t>(max_length, layout::kCmdlineAreaSize - 1);
  if (cmdline.size() > limit) {
    throw ConfigError(fmt::format("command line is {} bytes; {} accepts at most {}", cmdline.size(),
                                  kernel.label(), limit));
  }
  if (cmdline.find('\0') != std::string_view::npos) {
    throw ConfigError("command line contains a NUL character");
  }
  write_guest_string(memory, layout::kCmdlineAddress, cmdline, "the command line");
}

PlacedInitrd load_initrd(GuestMemory& memory, const InputFile& initrd, uint64_t limit_end,
                         std::span<const GuestRange> avoid) {
  const uint64_t size = initrd.size();
  const auto address = place_high(size, keel::layout::kHighMemoryStart, limit_end, avoid);
  if (!address) {
    const bool room_without_kernel = limit_end >= keel::layout::kHighMemoryStart &&
                                     limit_end - keel::layout::kHighMemoryStart >= size;
    std::string beside;
    if (room_without_kernel) {
      beside = " beside the kernel at";
      for (const GuestRange& range : avoid) beside += fmt::format(" [{:#x}, {:#x})", range.begin, range.end);
    }
    throw ConfigError(fmt::format("{} ({}) does not fit in guest RAM below {:#x}{}", initrd.label(),
                                  describe_size(size), limit_end - 1, beside));
  }
  auto destination = memory.host_span(Gpa{*address}, size);
  if (!destination) {
    throw ConfigError(fmt::format("{} ({}) at {:#x} is not in one guest RAM region", initrd.label(),
                                  describe_size(size), *address));
  }
  initrd.read_into(*destination);
  return PlacedInitrd{*address, size};
}

std::vector<firmware::E820Entry> memory_map(const GuestMemory& memory, size_t max_entries) {
  auto map = firmware::build_e820_map(memory);
  if (map.size() > max_entries) {
    throw ConfigError(fmt::format("the guest memory map has {} entries; the boot protocol allows {}", map.size(),
                                  max_entries));
  }
  return map;
}

}  // namespace keel::boot
