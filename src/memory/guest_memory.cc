// Guest RAM: the layout split and the bounds checks every access goes
// through. The host mappings themselves are made in ram_mapping.cc.
#include "keel/guest_memory.h"

#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/memory/ram_mapping.h"

namespace keel {

GuestMemory::GuestMemory(const MemoryConfig& config) {
  regions_.reserve(2);  // nothing below may throw once the mapping exists
  const memory_detail::RamMapping mapping = memory_detail::map_guest_ram(config);
  owns_mappings_ = true;
  backing_fd_ = mapping.fd;

  // Same split as QEMU's pc machine: RAM below the 32-bit PCI hole, the rest
  // moved above 4 GiB. Both regions come from one host mapping, so the
  // destructor can unmap it in one call.
  const uint64_t low_size = std::min(mapping.size, layout::kPciHoleStart);
  regions_.push_back(MemoryRegion{Gpa{0}, low_size, mapping.host});
  if (mapping.size > low_size) {
    regions_.push_back(MemoryRegion{Gpa{layout::kHighRamStart}, mapping.size - low_size, mapping.host + low_size});
  }
}

GuestMemory::GuestMemory(std::vector<MemoryRegion> regions) : regions_(std::move(regions)) {
  std::sort(regions_.begin(), regions_.end(),
            [](const MemoryRegion& a, const MemoryRegion& b) { return raw(a.guest_base) < raw(b.guest_base); });
  for (size_t i = 0; i < regions_.size(); ++i) {
    const MemoryRegion& region = regions_[i];
    const auto end = checked_add(region.guest_base, region.size);
    if (region.size == 0 || region.host == nullptr || !end) {
      throw ConfigError(fmt::format("guest memory region at {:#x}: empty, unmapped or wrapping past 2^64",
                                    raw(region.guest_base)));
    }
    if (i + 1 < regions_.size() && raw(*end) > raw(regions_[i + 1].guest_base)) {
      throw ConfigError(fmt::format("guest memory regions at {:#x} and {:#x} overlap", raw(region.guest_base),
                                    raw(regions_[i + 1].guest_base)));
    }
  }
}

GuestMemory::~GuestMemory() {
  if (owns_mappings_ && !regions_.empty()) memory_detail::unmap_guest_ram(regions_.front().host, total_size());
  if (backing_fd_ >= 0) close(backing_fd_);
}

uint64_t GuestMemory::total_size() const noexcept {
  uint64_t total = 0;
  for (const MemoryRegion& region : regions_) total += region.size;
  return total;
}

// There are one or two regions in a real machine, so a linear scan is the
// fastest lookup there is.
const MemoryRegion* GuestMemory::find(Gpa gpa, uint64_t length) const noexcept {
  for (const MemoryRegion& region : regions_) {
    if (raw(gpa) < raw(region.guest_base)) continue;
    const uint64_t offset = raw(gpa) - raw(region.guest_base);
    // offset < size, then length <= size - offset: no sum that could wrap.
    // A zero-length access is fine at any address inside the region.
    if (offset < region.size && length <= region.size - offset) return &region;
  }
  return nullptr;
}

bool GuestMemory::contains(Gpa gpa, uint64_t length) const noexcept {
  return checked_add(gpa, length).has_value() && find(gpa, length) != nullptr;
}

Result<std::span<std::byte>> GuestMemory::host_span(Gpa gpa, uint64_t length) const noexcept {
  if (!checked_add(gpa, length)) return fail(Errc::overflow, "guest memory range wraps past 2^64");
  const MemoryRegion* region = find(gpa, length);
  if (region == nullptr) return fail(Errc::out_of_bounds, "guest memory range is not inside one RAM region");
  return std::span<std::byte>(region->host + (raw(gpa) - raw(region->guest_base)), length);
}

Result<void> GuestMemory::read(Gpa gpa, std::span<std::byte> out) const noexcept {
  auto source = host_span(gpa, out.size());
  if (!source) return std::unexpected(source.error());
  if (!out.empty()) std::memcpy(out.data(), source->data(), out.size());
  return {};
}

Result<void> GuestMemory::write(Gpa gpa, std::span<const std::byte> in) const noexcept {
  auto target = host_span(gpa, in.size());
  if (!target) return std::unexpected(target.error());
  if (!in.empty()) std::memcpy(target->data(), in.data(), in.size());
  return {};
}

Result<void> GuestMemory::fill(Gpa gpa, uint64_t length, std::byte value) const noexcept {
  auto target = host_span(gpa, length);
  if (!target) return std::unexpected(target.error());
  if (length != 0) std::memset(target->data(), static_cast<int>(value), length);
  return {};
}

}  // namespace keel
