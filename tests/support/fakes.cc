#include "tests/support/fakes.h"

#include <algorithm>
#include <string>

namespace keel::testing {

std::string RecordingSink::text() const {
  std::lock_guard guard(lock_);
  std::string out;
  for (std::byte b : bytes_) out.push_back(static_cast<char>(b));
  return out;
}

class FakeTimer final : public Timer {
 public:
  explicit FakeTimer(std::shared_ptr<FakeClock::Entry> entry) : entry_(std::move(entry)) {}
  ~FakeTimer() override {
    entry_->deadline.reset();
    entry_->callback = nullptr;
  }
  void arm(std::chrono::nanoseconds deadline) noexcept override { entry_->deadline = deadline; }
  void disarm() noexcept override { entry_->deadline.reset(); }

 private:
  std::shared_ptr<FakeClock::Entry> entry_;
};

std::unique_ptr<Timer> FakeClock::create_timer(std::function<void()> on_expire) {
  auto entry = std::make_shared<Entry>(Entry{std::move(on_expire), std::nullopt});
  timers_.push_back(entry);
  return std::make_unique<FakeTimer>(entry);
}

void FakeClock::advance(std::chrono::nanoseconds delta) {
  const auto target = now_ + delta;
  for (;;) {
    std::shared_ptr<Entry> next;
    for (auto& entry : timers_) {
      if (entry->deadline && *entry->deadline <= target &&
          (!next || *entry->deadline < *next->deadline)) {
        next = entry;
      }
    }
    if (!next) break;
    now_ = std::max(now_, *next->deadline);
    next->deadline.reset();
    if (next->callback) next->callback();
  }
  now_ = target;
}

int FakeClock::armed_timers() const {
  return static_cast<int>(std::count_if(timers_.begin(), timers_.end(),
                                        [](const auto& entry) { return entry->deadline.has_value(); }));
}

TestGuestMemory::TestGuestMemory(uint64_t size) : storage_(size) {
  memory_ = std::make_unique<GuestMemory>(std::vector<MemoryRegion>{MemoryRegion{Gpa{0}, size, storage_.data()}});
}

}  // namespace keel::testing
