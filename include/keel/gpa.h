// Strong type for guest physical addresses, so they cannot be mixed up with
// host pointers, lengths or offsets.
#pragma once

#include <cstdint>
#include <optional>

namespace keel {

enum class Gpa : uint64_t {};

[[nodiscard]] constexpr uint64_t raw(Gpa gpa) noexcept { return static_cast<uint64_t>(gpa); }

// gpa + offset, or nullopt when it would wrap past 2^64.
[[nodiscard]] constexpr std::optional<Gpa> checked_add(Gpa gpa, uint64_t offset) noexcept {
  uint64_t sum = 0;
  if (__builtin_add_overflow(raw(gpa), offset, &sum)) return std::nullopt;
  return Gpa{sum};
}

}  // namespace keel
