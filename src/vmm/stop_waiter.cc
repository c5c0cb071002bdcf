#include "src/vmm/stop_waiter.h"

#include <poll.h>

#include <cerrno>
#include <climits>

#include <spdlog/spdlog.h>

#include "keel/clock.h"

namespace keel::vmm {

namespace {

// poll's timeout for a deadline: rounded up, so waking early never spins.
int timeout_ms_until(std::chrono::nanoseconds deadline, std::chrono::nanoseconds now) noexcept {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
  if (left <= 0) return 0;
  return left > INT_MAX ? INT_MAX : static_cast<int>(left);
}

}  // namespace

StopRecord wait_for_stop(MachineControl& control, const StopSources& sources) {
  bool deadline_done = !sources.deadline.has_value();
  for (;;) {
    if (std::optional<StopRecord> record = control.stop_record()) return *record;
    int timeout_ms = -1;
    if (!deadline_done) {
      const std::chrono::nanoseconds now = system_clock().monotonic();
      if (now >= *sources.deadline) {
        deadline_done = true;
        if (sources.on_deadline) sources.on_deadline();
        continue;
      }
      timeout_ms = timeout_ms_until(*sources.deadline, now);
    }
    pollfd fds[2] = {{.fd = control.stop_fd(), .events = POLLIN, .revents = 0},
                     {.fd = sources.signals ? sources.signals->fd() : -1, .events = POLLIN, .revents = 0}};
    const int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      // Cannot happen with valid fds; fall back to the condition variable so
      // a stop request is still seen (signals are then not served).
      spdlog::error("waiting for the VM: poll failed: {}", std::generic_category().message(errno));
      return control.wait_for_stop();
    }
    if (ready > 0 && (fds[1].revents & POLLIN) != 0) sources.signals->handle_pending(control);
  }
}

TeardownWatchdog::TeardownWatchdog(std::chrono::milliseconds grace, std::function<void()> on_stuck)
    : on_stuck_(std::move(on_stuck)) {
  thread_ = std::thread([this, grace] { watch(grace); });
}

TeardownWatchdog::~TeardownWatchdog() { disarm(); }

void TeardownWatchdog::watch(std::chrono::milliseconds grace) noexcept {
  std::unique_lock guard(lock_);
  if (disarmed_cv_.wait_for(guard, grace, [this] { return disarmed_; })) return;
  fired_ = true;
  try {
    on_stuck_();  // under lock_: disarm() waits for it
  } catch (...) {
    // Nothing more to do: the caller's teardown goes on.
  }
}

void TeardownWatchdog::disarm() noexcept {
  {
    std::lock_guard guard(lock_);
    disarmed_ = true;
  }
  disarmed_cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool TeardownWatchdog::fired() const noexcept {
  std::lock_guard guard(lock_);
  return fired_;
}

}  // namespace keel::vmm
