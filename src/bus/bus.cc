// Address-space routing for PIO and MMIO (one Bus instance each).
//
// Locking: the range table is guarded by a std::shared_mutex. A lookup takes
// the lock shared, copies the device's shared_ptr and releases the lock
// BEFORE calling the device. So a slow device (or one that itself inserts or
// removes ranges, e.g. a PCI BAR move) never blocks or deadlocks the table,
// and a device removed while an access is in flight stays alive until that
// access returns (the copied shared_ptr keeps it).
#include "keel/bus.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "keel/log_rate_limiter.h"

namespace keel {

namespace {

// Bus misses are normal in small numbers (Linux probes for absent legacy
// devices) and guest-triggerable in large ones, so they are logged at debug
// level and at most this many lines per second across all buses.
constexpr uint32_t kMissLinesPerSecond = 20;

LogRateLimiter& miss_limiter() noexcept {
  static LogRateLimiter limiter(kMissLinesPerSecond);
  return limiter;
}

constexpr bool is_valid_access_size(uint64_t size) noexcept {
  return size == 1 || size == 2 || size == 4 || size == 8;
}

}  // namespace

Bus::Bus(std::string name) : name_(std::move(name)) {}

Result<void> Bus::insert(uint64_t base, uint64_t length, std::shared_ptr<BusDevice> device, std::string name) {
  if (length == 0) return fail(Errc::invalid_argument, "bus range has zero length");
  if (!device) return fail(Errc::invalid_argument, "bus range has no device");
  // `last` is inclusive so a range may end exactly at 2^64.
  uint64_t last = 0;
  if (__builtin_add_overflow(base, length - 1, &last)) {
    return fail(Errc::overflow, "bus range extends past the end of the address space");
  }

  std::unique_lock guard(lock_);
  // The first range starting after `base` must start after `last`...
  auto next = ranges_.upper_bound(base);
  if (next != ranges_.end() && next->first <= last) {
    return fail(Errc::overlap, "bus range overlaps an existing range");
  }
  // ...and the range starting at or before `base` must end before it.
  if (next != ranges_.begin()) {
    const auto& [prev_base, prev] = *std::prev(next);
    if (base - prev_base < prev.length) {
      return fail(Errc::overlap, "bus range overlaps an existing range");
    }
  }
  if (name.empty()) name = "unnamed";
  ranges_.emplace_hint(next, base, Range{length, std::move(device), std::move(name)});
  return {};
}

Result<void> Bus::remove(uint64_t base) {
  std::shared_ptr<BusDevice> removed;  // destroyed after the lock is released
  {
    std::unique_lock guard(lock_);
    auto it = ranges_.find(base);
    if (it == ranges_.end()) return fail(Errc::not_found, "no bus range starts at this address");
    removed = std::move(it->second.device);
    ranges_.erase(it);
  }
  return {};
}

Bus::Hit Bus::find(uint64_t address, uint64_t size, BusCounters* counters) const noexcept {
  if (!is_valid_access_size(size)) return {};
  std::shared_lock guard(lock_);
  auto it = ranges_.upper_bound(address);
  if (it == ranges_.begin()) return {};
  --it;
  const uint64_t offset = address - it->first;
  const uint64_t length = it->second.length;
  // The whole access must lie inside the range: offset < length and
  // offset + size <= length, written so nothing can wrap.
  if (offset >= length || size > length - offset) return {};
  StatCounter* counter =
      counters ? &counters->row(it->first, it->second.device.get(), length, it->second.name) : nullptr;
  return {offset, it->second.device, counter};
}

bool Bus::read(uint64_t address, std::span<std::byte> data, BusCounters* counters) noexcept {
  Hit hit = find(address, data.size(), counters);
  if (!hit.device) {
    if (!data.empty()) std::memset(data.data(), 0xff, data.size());
    if (counters) counters->unclaimed().add(0);
    log_miss("read", address, data.size());
    return false;
  }
  if (!hit.counter) {
    hit.device->read(hit.offset, data);
    return true;
  }
  const uint64_t start = stats_ticks();
  hit.device->read(hit.offset, data);
  hit.counter->add(stats_ticks() - start);
  return true;
}

bool Bus::write(uint64_t address, std::span<const std::byte> data, BusCounters* counters) noexcept {
  Hit hit = find(address, data.size(), counters);
  if (!hit.device) {
    if (counters) counters->unclaimed().add(0);
    log_miss("write", address, data.size());
    return false;
  }
  if (!hit.counter) {
    hit.device->write(hit.offset, data);
    return true;
  }
  const uint64_t start = stats_ticks();
  hit.device->write(hit.offset, data);
  hit.counter->add(stats_ticks() - start);
  return true;
}

void Bus::log_miss(const char* kind, uint64_t address, uint64_t size) noexcept {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  const auto decision = miss_limiter().admit(std::chrono::duration_cast<std::chrono::nanoseconds>(now));
  if (!decision.log) return;
  // spdlog may throw (allocation, formatting); a miss must never take a vCPU
  // thread down, so swallow it.
  try {
    if (decision.suppressed_before > 0) {
      spdlog::debug("bus: {} earlier unclaimed accesses not logged (rate limit)", decision.suppressed_before);
    }
    spdlog::debug("{} bus: unclaimed {} of {} byte(s) at {:#x}", name_, kind, size, address);
  } catch (...) {
  }
}

}  // namespace keel
