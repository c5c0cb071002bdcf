// A lock-free "at most N log lines per second" gate for guest-triggerable
// log lines. A guest can cause bus misses in a tight loop; without a limit
// it could fill the host's disk or slow every vCPU down on logging.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace keel {

class LogRateLimiter {
 public:
  struct Decision {
    bool log;                    // emit this line
    uint64_t suppressed_before;  // lines dropped in the previous window(s); report them once
  };

  explicit LogRateLimiter(uint32_t lines_per_window,
                          std::chrono::nanoseconds window = std::chrono::seconds(1)) noexcept
      : lines_per_window_(lines_per_window), window_(window.count()) {}

  // Admit a line now (steady clock).
  Decision admit() noexcept {
    return admit(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch()));
  }

  // `now` is a monotonic timestamp. Counting is approximate under races
  // (two threads opening a window at once may each let a line through):
  // exactness does not matter here, boundedness does.
  Decision admit(std::chrono::nanoseconds now) noexcept {
    const int64_t now_ns = now.count();
    int64_t start = window_start_.load(std::memory_order_relaxed);
    uint64_t suppressed = 0;
    if (now_ns - start >= window_ || now_ns < start) {
      if (window_start_.compare_exchange_strong(start, now_ns, std::memory_order_relaxed)) {
        lines_in_window_.store(0, std::memory_order_relaxed);
        suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
      }
    }
    if (lines_in_window_.fetch_add(1, std::memory_order_relaxed) < lines_per_window_) {
      return {true, suppressed};
    }
    // Dropped: count it, and hand back any count we took so the next logged
    // line still reports it.
    suppressed_.fetch_add(1 + suppressed, std::memory_order_relaxed);
    return {false, 0};
  }

 private:
  const uint64_t lines_per_window_;
  const int64_t window_;
  // Starts "long ago" so the first line always opens a fresh window.
  std::atomic<int64_t> window_start_{INT64_MIN / 2};
  std::atomic<uint64_t> lines_in_window_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace keel
