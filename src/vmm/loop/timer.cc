// EventLoop::create_timer: one-shot timerfds (CLOCK_MONOTONIC, absolute
// deadlines) whose expiry is dispatched by the loop like any other fd.
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include <spdlog/spdlog.h>

#include "src/vmm/loop/event_loop.h"

namespace keel::vmm {
namespace {

// What the registered handler needs; owned jointly by the Timer and the
// handler so a callback that destroys its own Timer keeps running on valid
// state until it returns.
struct TimerState {
  int fd;
  std::function<void()> on_expire;
};

void on_timerfd_readable(const TimerState& state) {
  uint64_t expirations = 0;
  // Non-blocking: a disarm() or re-arm() between epoll_wait and here resets
  // the count, and the read then fails with EAGAIN: nothing to fire.
  const ssize_t got = read(state.fd, &expirations, sizeof expirations);
  if (got != static_cast<ssize_t>(sizeof expirations) || expirations == 0) return;
  state.on_expire();
}

}  // namespace

class EventLoop::TimerFdTimer final : public Timer {
 public:
  TimerFdTimer(std::shared_ptr<TimerAnchor> anchor, std::shared_ptr<TimerState> state)
      : anchor_(std::move(anchor)), state_(std::move(state)) {}

  ~TimerFdTimer() override {
    {
      std::shared_lock anchor_guard(anchor_->lock);
      if (anchor_->loop != nullptr) anchor_->loop->remove(state_->fd);
    }
    close(state_->fd);
  }

  void arm(std::chrono::nanoseconds deadline) noexcept override {
    // it_value zero would disarm; a deadline at or before the epoch of
    // CLOCK_MONOTONIC is simply "already passed", so use 1 ns.
    if (deadline <= std::chrono::nanoseconds::zero()) deadline = std::chrono::nanoseconds(1);
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(deadline.count() / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(deadline.count() % 1'000'000'000);
    if (timerfd_settime(state_->fd, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
      spdlog::error("timer: timerfd_settime failed: {}", std::system_category().message(errno));
    }
  }

  void disarm() noexcept override {
    const itimerspec zero{};
    if (timerfd_settime(state_->fd, 0, &zero, nullptr) != 0) {
      spdlog::error("timer: timerfd_settime(disarm) failed: {}", std::system_category().message(errno));
    }
  }

 private:
  std::shared_ptr<TimerAnchor> anchor_;
  std::shared_ptr<TimerState> state_;
};

std::unique_ptr<Timer> EventLoop::create_timer(std::function<void()> on_expire) {
  const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  auto state = std::make_shared<TimerState>(TimerState{fd, std::move(on_expire)});
  try {
    add(fd, EPOLLIN, [state](uint32_t) { on_timerfd_readable(*state); });
  } catch (...) {
    close(fd);
    throw;
  }
  return std::make_unique<TimerFdTimer>(timer_anchor_, std::move(state));
}

}  // namespace keel::vmm
