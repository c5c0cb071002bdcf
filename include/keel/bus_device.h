// The interface every PIO/MMIO device on a Bus implements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace keel {

// A device is called only for an access that lies wholly inside the range it
// was inserted with; `offset` is relative to the start of that range and
// `data.size()` is 1, 2, 4 or 8. Calls may come from several vCPU threads at
// once: a device guards its own state (normally one std::mutex per device).
// Multi-byte accesses are little-endian, as on x86.
class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual void read(uint64_t offset, std::span<std::byte> data) noexcept = 0;
  virtual void write(uint64_t offset, std::span<const std::byte> data) noexcept = 0;
};

}  // namespace keel
