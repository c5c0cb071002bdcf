// Guest RAM: the host mappings behind it and the only way keel touches it.
// Every access is bounds-checked against one region; no guest-derived pointer
// is formed without that check, and gpa + len never wraps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "keel/gpa.h"
#include "keel/result.h"

namespace keel {

// The x86 PC physical layout keel builds (same split as QEMU's `pc` machine).
namespace layout {
inline constexpr uint64_t kPciHoleStart = 0xC000'0000;  // low RAM ends here at most
inline constexpr uint64_t kHighRamStart = 0x1'0000'0000;  // RAM above the hole
inline constexpr uint64_t kIoApicBase = 0xFEC0'0000;
inline constexpr uint64_t kLocalApicBase = 0xFEE0'0000;
inline constexpr uint64_t kEbdaStart = 0x9'FC00;     // 639 KiB: top of base memory
inline constexpr uint64_t kBiosRomStart = 0xE'0000;  // ACPI RSDP / MP table live here
inline constexpr uint64_t kHighMemoryStart = 0x10'0000;  // 1 MiB
}  // namespace layout

enum class MemoryBacking { anonymous, memfd, hugetlbfs };

struct MemoryConfig {
  uint64_t size_bytes = 0;
  MemoryBacking backing = MemoryBacking::anonymous;
  std::string hugetlbfs_path;  // for MemoryBacking::hugetlbfs: a mounted hugetlbfs dir
};

struct MemoryRegion {
  Gpa guest_base;
  uint64_t size;
  std::byte* host;  // mapping owned by GuestMemory
};

class GuestMemory {
 public:
  // Maps RAM: [0, min(size, kPciHoleStart)) and, for the rest,
  // [kHighRamStart, kHighRamStart + size - low). Throws ConfigError on a bad
  // size (zero, not a multiple of 4 KiB, or too large to map) or a failed map.
  explicit GuestMemory(const MemoryConfig& config);
  // Regions supplied by a test (host memory owned by the caller).
  explicit GuestMemory(std::vector<MemoryRegion> regions);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  std::span<const MemoryRegion> regions() const noexcept { return regions_; }
  uint64_t total_size() const noexcept;

  // True when [gpa, gpa + length) lies wholly inside one region (and does not wrap).
  [[nodiscard]] bool contains(Gpa gpa, uint64_t length) const noexcept;

  [[nodiscard]] Result<void> read(Gpa gpa, std::span<std::byte> out) const noexcept;
  [[nodiscard]] Result<void> write(Gpa gpa, std::span<const std::byte> in) const noexcept;
  // Fill [gpa, gpa + length) with `value`.
  [[nodiscard]] Result<void> fill(Gpa gpa, uint64_t length, std::byte value) const noexcept;

  template <class T>
    requires std::is_trivially_copyable_v<T>
  [[nodiscard]] Result<T> read_obj(Gpa gpa) const noexcept {
    T value;
    auto result = read(gpa, std::as_writable_bytes(std::span<T, 1>(&value, 1)));
    if (!result) return std::unexpected(result.error());
    return value;
  }

  template <class T>
    requires std::is_trivially_copyable_v<T>
  [[nodiscard]] Result<void> write_obj(Gpa gpa, const T& value) const noexcept {
    return write(gpa, std::as_bytes(std::span<const T, 1>(&value, 1)));
  }

  // The host bytes behind [gpa, gpa + length), for bulk copies (loaders, I/O
  // buffers). Valid only while this GuestMemory lives; do not keep it across a
  // call that could let the guest change what it refers to.
  [[nodiscard]] Result<std::span<std::byte>> host_span(Gpa gpa, uint64_t length) const noexcept;

 private:
  const MemoryRegion* find(Gpa gpa, uint64_t length) const noexcept;

  std::vector<MemoryRegion> regions_;
  bool owns_mappings_ = false;
  int backing_fd_ = -1;
};

}  // namespace keel
