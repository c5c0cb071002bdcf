// An address space (PIO or MMIO) that routes accesses to devices.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>

#include "keel/bus_device.h"
#include "keel/exit_stats.h"
#include "keel/result.h"

namespace keel {

class Bus {
 public:
  explicit Bus(std::string name);

  // Fails on zero length, base + length past 2^64, or overlap with a range
  // already inserted. `name` labels the range in exit statistics.
  [[nodiscard]] Result<void> insert(uint64_t base, uint64_t length, std::shared_ptr<BusDevice> device,
                                    std::string name = {});
  // Removes the range that starts exactly at `base`.
  [[nodiscard]] Result<void> remove(uint64_t base);

  // Dispatch an access. Returns false when no single range holds the whole
  // access; reads then fill `data` with all-ones, writes are dropped, and the
  // miss is logged (rate-limited). Lookup is O(log n). The range table lock
  // is released before the device is called.
  // With `counters` (the calling vCPU's table for this bus, exit_stats.h),
  // the access is counted in its range's row with the ticks the device
  // handler took, or in the unclaimed row; no allocation, no shared write.
  bool read(uint64_t address, std::span<std::byte> data, BusCounters* counters = nullptr) noexcept;
  bool write(uint64_t address, std::span<const std::byte> data, BusCounters* counters = nullptr) noexcept;

  const std::string& name() const noexcept { return name_; }

 private:
  struct Range {
    uint64_t length;
    std::shared_ptr<BusDevice> device;
    std::string name;
  };
  struct Hit {
    uint64_t offset;
    std::shared_ptr<BusDevice> device;
    StatCounter* counter;  // null without counters
  };
  // The counter row is claimed under the lock, while the range's name lives.
  Hit find(uint64_t address, uint64_t size, BusCounters* counters) const noexcept;
  void log_miss(const char* kind, uint64_t address, uint64_t size) noexcept;

  std::string name_;
  mutable std::shared_mutex lock_;
  std::map<uint64_t, Range> ranges_;  // keyed by base
};

}  // namespace keel
