#include "src/boot/boot_memory.h"

#include <algorithm>

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/boot/boot_layout.h"

namespace keel::boot {

uint64_t low_ram_end(const GuestMemory& memory) {
  for (const MemoryRegion& region : memory.regions()) {
    if (raw(region.guest_base) == 0) {
      return std::min<uint64_t>(region.size, keel::layout::kHighRamStart);
    }
  }
  throw ConfigError("guest RAM has no region at address 0; the boot loaders need low RAM");
}

void write_guest(GuestMemory& memory, uint64_t address, std::span<const std::byte> bytes, std::string_view what) {
  auto result = memory.write(Gpa{address}, bytes);
  if (!result) {
    throw ConfigError(fmt::format("guest RAM too small for {} at {:#x} (+{:#x} bytes): {}", what, address,
                                  bytes.size(), result.error().what));
  }
}

void write_guest_string(GuestMemory& memory, uint64_t address, std::string_view text, std::string_view what) {
  write_guest(memory, address, std::as_bytes(std::span(text.data(), text.size())), what);
  const std::byte nul{0};
  write_guest(memory, address + text.size(), std::span(&nul, 1), what);
}

void check_kernel_range(const GuestMemory& memory, std::string_view label, std::string_view what, uint64_t address,
                        uint64_t size) {
  uint64_t end = 0;
  if (__builtin_add_overflow(address, size, &end)) {
    throw ConfigError(fmt::format("{}: {} at {:#x} (+{:#x} bytes) wraps past the end of the address space", label,
                                  what, address, size));
  }
  if (size == 0) return;
  if (!memory.contains(Gpa{address}, size)) {
    throw ConfigError(fmt::format("{}: {} [{:#x}, {:#x}) lies outside guest RAM", label, what, address, end));
  }
  const GuestRange range{address, end};
  if (range.overlaps({0, layout::kBootDataEnd})) {
    throw ConfigError(fmt::format("{}: {} [{:#x}, {:#x}) overlaps keel's boot data below {:#x}", label, what,
                                  address, end, layout::kBootDataEnd));
  }
  if (range.overlaps({keel::layout::kEbdaStart, keel::layout::kHighMemoryStart})) {
    throw ConfigError(fmt::format("{}: {} [{:#x}, {:#x}) overlaps the BIOS area [{:#x}, {:#x})", label, what,
                                  address, end, keel::layout::kEbdaStart, keel::layout::kHighMemoryStart));
  }
}

std::optional<uint64_t> place_high(uint64_t size, uint64_t lowest, uint64_t limit_end,
                                   std::span<const GuestRange> avoid) noexcept {
  constexpr uint64_t kPageMask = ~(layout::kPageSize - 1);
  if (size == 0 || limit_end < size) return std::nullopt;
  uint64_t candidate = (limit_end - size) & kPageMask;
  // Each round either succeeds or moves the candidate strictly below the
  // start of a range it hit, so the loop ends.
  for (;;) {
    if (candidate < lowest) return std::nullopt;
    const GuestRange range{candidate, candidate + size};
    const GuestRange* hit = nullptr;
    for (const GuestRange& blocked : avoid) {
      if (range.overlaps(blocked)) {
        hit = &blocked;
        break;
      }
    }
    if (hit == nullptr) return candidate;
    if (hit->begin < size) return std::nullopt;
    candidate = (hit->begin - size) & kPageMask;
  }
}

}  // namespace keel::boot
