#include "src/vmm/vm_control.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace keel::vmm {

MachineControl::MachineControl() : stop_event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_event_) throw std::system_error(errno, std::generic_category(), "eventfd (stop request)");
}

void MachineControl::request_stop(StopReason reason, int exit_status) noexcept {
  request_stop(reason, exit_status, {});
}

void MachineControl::request_stop(StopReason reason, int exit_status, std::string_view message) noexcept {
  bool kick = false;
  {
    std::lock_guard guard(lock_);
    if (record_) return;  // the first request wins
    try {
      record_ = StopRecord{reason, exit_status, std::string(message)};
    } catch (...) {
      record_ = StopRecord{reason, exit_status, {}};  // out of memory: keep the status anyway
    }
    stopping_.store(true, std::memory_order_release);
    if (kicker_ && !kicked_) kick = kicked_ = true;
  }
  // Parked vCPUs wake up and see the stop flag (set above), and a pause()
  // still waiting for them gives up.
  run_state_.stop();
  // Outside the lock: the kicker signals threads that may be calling us.
  // kicker_ never changes once installed, so reading it unlocked is safe.
  if (kick) kicker_();
  // The waiter sees the stop only from here on, under the lock, so all of
  // the above happens before the teardown that destroys this object (a
  // caller that is not joined before it, e.g. a test's controller thread,
  // must not still be inside). Nothing here touches *this after the lock.
  std::lock_guard guard(lock_);
  complete_ = true;
  stopped_.notify_all();
  // Once only (the first request): the counter can never saturate.
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(stop_event_.get(), &one, sizeof one);
}

void MachineControl::set_kicker(std::function<void()> kicker) {
  bool run_now = false;
  {
    std::lock_guard guard(lock_);
    kicker_ = std::move(kicker);
    run_now = record_.has_value() && !kicked_;
    if (run_now) kicked_ = true;
  }
  if (run_now) kicker_();
}

void MachineControl::mark_running(uint32_t vcpu_count) noexcept {
  // False after an early stop request: the state stays stopping.
  [[maybe_unused]] const bool started = run_state_.start(vcpu_count);
}

LifecycleResult MachineControl::pause(std::chrono::milliseconds timeout) noexcept {
  const std::function<void()>* kicker = nullptr;
  {
    std::lock_guard guard(lock_);
    if (kicker_) kicker = &kicker_;  // never changes once installed
  }
  // The kick is the stop's own (immediate_exit + SIGUSR1 per vCPU); it may
  // run many times: a kicked vCPU that finds no stop and no pause request
  // simply enters KVM_RUN again.
  static const std::function<void()> no_kicker;
  return run_state_.pause(kicker ? *kicker : no_kicker, timeout);
}

bool MachineControl::begin_suspend() noexcept {
  if (!run_state_.request_suspend()) return false;
  const std::function<void()>* kicker = nullptr;
  {
    std::lock_guard guard(lock_);
    if (kicker_) kicker = &kicker_;  // never changes once installed
  }
  // The stop's kick (immediate_exit + SIGUSR1): it never blocks, so the
  // vCPU thread that wrote SLP_EN may run it, kicking itself too.
  if (kicker) (*kicker)();
  return true;
}

StopRecord MachineControl::wait_for_stop() {
  std::unique_lock guard(lock_);
  stopped_.wait(guard, [this] { return complete_; });
  return *record_;
}

std::optional<StopRecord> MachineControl::stop_record() const {
  std::lock_guard guard(lock_);
  if (!complete_) return std::nullopt;  // still kicking: not the waiter's yet
  return record_;
}

}  // namespace keel::vmm
