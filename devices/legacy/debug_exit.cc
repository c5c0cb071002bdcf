// isa-debug-exit compatible port. QEMU's device decodes every write anywhere
// in its range, of any width it accepts, and exits; reads return 0 (which is
// how a guest can tell the device is there: an empty port reads all-ones).
// keel does the same except for the exit status (see debug_exit.h).
#include "devices/legacy/debug_exit.h"

#include <algorithm>

namespace keel::devices {

void DebugExit::read(uint64_t /*offset*/, std::span<std::byte> data) noexcept {
  std::fill(data.begin(), data.end(), std::byte{0});
}

void DebugExit::write(uint64_t /*offset*/, std::span<const std::byte> data) noexcept {
  if (data.empty()) return;
  // The value is little-endian; only its low byte becomes the exit status,
  // which is data[0] whatever the width.
  const int status = std::to_integer<int>(data[0]);
  vm_.request_stop(StopReason::debug_exit, status);
}

}  // namespace keel::devices
