#include "src/memory/ram_mapping.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <string>

#include "keel/config_error.h"

namespace keel::memory_detail {

namespace {

constexpr uint64_t kTwoMiB = 2ull << 20;

std::string errno_text() { return std::strerror(errno); }

std::string describe_size(uint64_t bytes) {
  if (bytes % (1ull << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes % (1ull << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes % (1ull << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

void validate_size(uint64_t size, uint64_t granule, const char* granule_reason) {
  if (size == 0) throw ConfigError("memory size must not be zero");
  if (size % granule != 0) {
    throw ConfigError(fmt::format("memory size {} is not a multiple of {}{}", describe_size(size),
                                  describe_size(granule), granule_reason));
  }
  if (size > kMaxRamBytes) {
    throw ConfigError(fmt::format("memory size {} exceeds the maximum of {}", describe_size(size),
                                  describe_size(kMaxRamBytes)));
  }
}

// A hugetlbfs backing: a file created in the mount and unlinked at once, so
// nothing is left behind even if keel is killed. Returns the fd and sets
// `page_size` to the mount's huge page size.
int open_hugetlbfs_file(const std::string& directory, uint64_t& page_size) {
  if (directory.empty()) throw ConfigError("hugetlbfs memory backing needs a hugetlbfs directory");
  struct statfs fs {};
  if (statfs(directory.c_str(), &fs) != 0) {
    throw ConfigError(fmt::format("hugetlbfs path {}: {}", directory, errno_text()));
  }
  if (static_cast<uint64_t>(fs.f_type) != HUGETLBFS_MAGIC) {
    throw ConfigError(fmt::format("hugetlbfs path {} is not on a hugetlbfs mount", directory));
  }
  page_size = static_cast<uint64_t>(fs.f_bsize);
  std::string path = directory + "/keel-guest-ram-XXXXXX";
  const int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) throw ConfigError(fmt::format("hugetlbfs path {}: cannot create file: {}", directory, errno_text()));
  unlink(path.c_str());
  return fd;
}

// Reserves address space aligned to `alignment`, so guest 2 MiB (or 1 GiB)
// frames line up with host huge pages, and returns its start.
std::byte* reserve_aligned(uint64_t size, uint64_t alignment) {
  const uint64_t reserve_size = size + alignment;
  void* raw = mmap(nullptr, reserve_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    throw ConfigError(fmt::format("cannot reserve {} of address space for guest memory: {}",
                                  describe_size(size), errno_text()));
  }
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + alignment - 1) & ~(alignment - 1);
  const uintptr_t end = start + reserve_size;
  if (aligned > start) munmap(raw, aligned - start);
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  return reinterpret_cast<std::byte*>(aligned);
}

}  // namespace

RamMapping map_guest_ram(const MemoryConfig& config) {
  RamMapping mapping;
  mapping.size = config.size_bytes;
  uint64_t alignment = kTwoMiB;

  switch (config.backing) {
    case MemoryBacking::anonymous:
      validate_size(config.size_bytes, kPageSize, "");
      break;
    case MemoryBacking::memfd:
      validate_size(config.size_bytes, kPageSize, "");
      mapping.fd = memfd_create("keel-guest-ram", MFD_CLOEXEC);
      if (mapping.fd < 0) throw ConfigError(fmt::format("memfd_create for guest memory: {}", errno_text()));
      break;
    case MemoryBacking::hugetlbfs: {
      validate_size(config.size_bytes, kPageSize, "");  // zero / too large first, with the usual wording
      uint64_t page_size = kTwoMiB;
      mapping.fd = open_hugetlbfs_file(config.hugetlbfs_path, page_size);
      if (page_size == 0 || config.size_bytes % page_size != 0) {
        close(mapping.fd);
        throw ConfigError(fmt::format("memory size {} is not a multiple of {} (the huge page size of {})",
                                      describe_size(config.size_bytes), describe_size(page_size),
                                      config.hugetlbfs_path));
      }
      alignment = std::max(alignment, page_size);
      break;
    }
  }

  if (mapping.fd >= 0 && ftruncate(mapping.fd, static_cast<off_t>(config.size_bytes)) != 0) {
    const std::string reason = errno_text();
    close(mapping.fd);
    throw ConfigError(fmt::format("cannot size the guest memory file to {}: {}", describe_size(config.size_bytes),
                                  reason));
  }

  std::byte* where = nullptr;
  try {
    where = reserve_aligned(config.size_bytes, alignment);
  } catch (...) {
    if (mapping.fd >= 0) close(mapping.fd);
    throw;
  }

  // Anonymous RAM is private and not reserved up front: a guest that never
  // touches most of its RAM costs nothing. File-backed RAM is shared so that
  // another process (vhost-user backend) can map the same pages.
  const int flags = mapping.fd < 0 ? (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE) : MAP_SHARED;
  void* host = mmap(where, config.size_bytes, PROT_READ | PROT_WRITE, flags | MAP_FIXED, mapping.fd, 0);
  if (host == MAP_FAILED) {
    const std::string reason = errno_text();
    munmap(where, config.size_bytes);
    if (mapping.fd >= 0) close(mapping.fd);
    throw ConfigError(fmt::format("cannot map {} of guest memory: {}", describe_size(config.size_bytes), reason));
  }
  mapping.host = static_cast<std::byte*>(host);

  // Guest RAM in a keel core dump is large and may hold guest secrets.
  (void)madvise(host, config.size_bytes, MADV_DONTDUMP);
  // Like QEMU: ask for transparent huge pages so the guest's 2 MiB frames are
  // backed by host huge pages where the host allows it.
  if (config.backing == MemoryBacking::anonymous) (void)madvise(host, config.size_bytes, MADV_HUGEPAGE);
  return mapping;
}

void unmap_guest_ram(std::byte* host, uint64_t size) noexcept {
  if (host != nullptr && size != 0) munmap(host, size);
}

}  // namespace keel::memory_detail
