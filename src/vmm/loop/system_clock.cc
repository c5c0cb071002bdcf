// keel::system_clock(): the host's CLOCK_MONOTONIC and CLOCK_REALTIME.
#include <time.h>

#include <chrono>

#include "keel/clock.h"

namespace keel {
namespace {

std::chrono::nanoseconds read_clock(clockid_t id) noexcept {
  timespec now{};
  // Cannot fail for these two clock ids with a valid pointer.
  clock_gettime(id, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

class HostClock final : public Clock {
 public:
  std::chrono::nanoseconds monotonic() const noexcept override { return read_clock(CLOCK_MONOTONIC); }
  std::chrono::nanoseconds realtime() const noexcept override { return read_clock(CLOCK_REALTIME); }
};

}  // namespace

const Clock& system_clock() noexcept {
  static const HostClock clock;
  return clock;
}

}  // namespace keel
