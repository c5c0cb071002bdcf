// Time sources and timers, behind interfaces so device models can be unit
// tested with a fake clock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace keel {

class Clock {
 public:
  virtual ~Clock() = default;
  // CLOCK_MONOTONIC
  virtual std::chrono::nanoseconds monotonic() const noexcept = 0;
  // CLOCK_REALTIME: time since the Unix epoch, UTC
  virtual std::chrono::nanoseconds realtime() const noexcept = 0;
};

// The host's clocks.
const Clock& system_clock() noexcept;

// A one-shot timer. The callback runs on the event-loop thread, never while
// arm()/disarm() is on the stack, so it may take the owning device's lock.
class Timer {
 public:
  virtual ~Timer() = default;
  // Fire once at `deadline` on the monotonic clock (re-arming replaces the
  // previous deadline). A deadline in the past fires as soon as possible.
  virtual void arm(std::chrono::nanoseconds deadline) noexcept = 0;
  virtual void disarm() noexcept = 0;
};

class TimerFactory {
 public:
  virtual ~TimerFactory() = default;
  virtual std::unique_ptr<Timer> create_timer(std::function<void()> on_expire) = 0;
};

}  // namespace keel
