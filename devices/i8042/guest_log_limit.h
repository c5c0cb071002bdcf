// "At most N lines per second" for log lines a guest can trigger (unknown
// controller commands in a loop must not flood the host's log). Used under
// the device lock, so it needs no atomics. Internal to devices/i8042.
#pragma once

#include <chrono>
#include <cstdint>

namespace keel::devices::i8042_detail {

class GuestLogLimit {
 public:
  explicit GuestLogLimit(uint32_t lines_per_second) noexcept : lines_per_second_(lines_per_second) {}

  // True when this line may be logged now.
  bool admit() noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      lines_in_window_ = 0;
    }
    return lines_in_window_++ < lines_per_second_;
  }

 private:
  uint32_t lines_per_second_;
  uint64_t lines_in_window_ = 0;
  std::chrono::steady_clock::time_point window_start_{};
};

}  // namespace keel::devices::i8042_detail
