// Guest-memory helpers shared by the loaders: writes that turn a failed
// checked access into a ConfigError, where low RAM ends, the check that a
// kernel range is RAM and clear of keel's boot data, and initrd placement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "keel/guest_memory.h"

namespace keel::boot {

// A half-open guest-physical range [begin, end).
struct GuestRange {
  uint64_t begin;
  uint64_t end;
  bool overlaps(const GuestRange& other) const noexcept { return begin < other.end && other.begin < end; }
};

// The end of the RAM region that starts at guest address 0, capped at 4 GiB
// (everything the loaders place — kernel, initrd, boot data — must be
// reachable with 32-bit addresses). Throws ConfigError if there is no RAM at
// address 0.
uint64_t low_ram_end(const GuestMemory& memory);

// memory.write(), or ConfigError("guest RAM too small for <what> at 0x...").
void write_guest(GuestMemory& memory, uint64_t address, std::span<const std::byte> bytes, std::string_view what);
// Writes `text` and a terminating NUL.
void write_guest_string(GuestMemory& memory, uint64_t address, std::string_view text, std::string_view what);

template <class T>
void write_guest_obj(GuestMemory& memory, uint64_t address, const T& value, std::string_view what) {
  write_guest(memory, address, std::as_bytes(std::span<const T, 1>(&value, 1)), what);
}

// Checks that a kernel segment [address, address + size) lies in guest RAM
// and does not overlap keel's boot data below kBootDataEnd or the BIOS area
// [kEbdaStart, 1 MiB). Throws ConfigError("<label>: <what> at 0x... ...").
void check_kernel_range(const GuestMemory& memory, std::string_view label, std::string_view what, uint64_t address,
                        uint64_t size);

// The highest page-aligned address A with [A, A + size) inside
// [lowest, limit_end) and overlapping none of `avoid`; nullopt when there is
// none. Used for the initrd: as high as possible, as boot loaders do, so it
// stays out of the way of a kernel that decompresses or relocates upwards.
std::optional<uint64_t> place_high(uint64_t size, uint64_t lowest, uint64_t limit_end,
                                   std::span<const GuestRange> avoid) noexcept;

}  // namespace keel::boot
