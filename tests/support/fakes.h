// Fakes for unit tests: IRQ lines that record edges, a VmControl that records
// stop requests, a manually advanced clock with timers, a sink that collects
// bytes, and guest memory backed by ordinary host memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "keel/char_io.h"
#include "keel/clock.h"
#include "keel/guest_memory.h"
#include "keel/irq_line.h"
#include "keel/vm_control.h"

namespace keel::testing {

class FakeIrqLine final : public IrqLine {
 public:
  void set_level(bool high) noexcept override {
    std::lock_guard guard(lock_);
    if (high && !level_) ++rising_edges_;
    level_ = high;
  }
  bool level() const {
    std::lock_guard guard(lock_);
    return level_;
  }
  int rising_edges() const {
    std::lock_guard guard(lock_);
    return rising_edges_;
  }
  void reset_count() {
    std::lock_guard guard(lock_);
    rising_edges_ = 0;
  }

 private:
  mutable std::mutex lock_;
  bool level_ = false;
  int rising_edges_ = 0;
};

class FakeVmControl final : public VmControl {
 public:
  void request_stop(StopReason reason, int exit_status) noexcept override {
    std::lock_guard guard(lock_);
    if (!stop_) stop_ = Stop{reason, exit_status};
    ++requests_;
  }
  struct Stop {
    StopReason reason;
    int exit_status;
  };
  std::optional<Stop> stop() const {
    std::lock_guard guard(lock_);
    return stop_;
  }
  int requests() const {
    std::lock_guard guard(lock_);
    return requests_;
  }

 private:
  mutable std::mutex lock_;
  std::optional<Stop> stop_;
  int requests_ = 0;
};

class RecordingSink final : public CharSink {
 public:
  void write(std::span<const std::byte> bytes) noexcept override {
    std::lock_guard guard(lock_);
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  }
  std::vector<std::byte> bytes() const {
    std::lock_guard guard(lock_);
    return bytes_;
  }
  std::string text() const;

 private:
  mutable std::mutex lock_;
  std::vector<std::byte> bytes_;
};

// A clock that only moves when the test says so. Timers made by it fire
// (synchronously, from advance()) when their deadline is reached.
class FakeClock final : public Clock, public TimerFactory {
 public:
  explicit FakeClock(std::chrono::nanoseconds realtime_start = std::chrono::seconds(1'700'000'000))
      : realtime_base_(realtime_start) {}
  std::chrono::nanoseconds monotonic() const noexcept override { return now_; }
  std::chrono::nanoseconds realtime() const noexcept override { return realtime_base_ + now_; }
  std::unique_ptr<Timer> create_timer(std::function<void()> on_expire) override;

  // Move time forward, firing due timers in deadline order (a timer re-armed
  // by its own callback fires again if its new deadline is still due).
  void advance(std::chrono::nanoseconds delta);
  void set_realtime(std::chrono::nanoseconds since_epoch) { realtime_base_ = since_epoch - now_; }
  // Number of timers currently armed.
  int armed_timers() const;

 private:
  friend class FakeTimer;
  struct Entry {
    std::function<void()> callback;
    std::optional<std::chrono::nanoseconds> deadline;
  };
  std::chrono::nanoseconds now_{0};
  std::chrono::nanoseconds realtime_base_;
  std::vector<std::shared_ptr<Entry>> timers_;
};

// Guest memory over a host buffer: one region [0, size).
class TestGuestMemory {
 public:
  explicit TestGuestMemory(uint64_t size);
  GuestMemory& memory() { return *memory_; }
  std::byte* host() { return storage_.data(); }

 private:
  std::vector<std::byte> storage_;
  std::unique_ptr<GuestMemory> memory_;
};

}  // namespace keel::testing
