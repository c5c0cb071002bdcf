// Host mappings behind guest RAM (anonymous, memfd or hugetlbfs), kept apart
// from the access checks in guest_memory.cc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/guest_memory.h"

namespace keel::memory_detail {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kMaxRamBytes = 1ull << 40;  // 1 TiB

struct RamMapping {
  std::byte* host = nullptr;  // one contiguous mapping of `size` bytes
  uint64_t size = 0;
  int fd = -1;  // memfd / hugetlbfs file, -1 for anonymous memory
};

// Validates config.size_bytes and maps it. Throws ConfigError with a one-line
// message naming what was wrong.
RamMapping map_guest_ram(const MemoryConfig& config);

void unmap_guest_ram(std::byte* host, uint64_t size) noexcept;

}  // namespace keel::memory_detail
