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
  // Outside the lock: the kicker signals threads that may be calling us.
  // kicker_ never changes once installed, so reading it unlocked is safe.
  if (kick) kicker_();
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

StopRecord MachineControl::wait_for_stop() {
  std::unique_lock guard(lock_);
  stopped_.wait(guard, [this] { return record_.has_value(); });
  return *record_;
}

std::optional<StopRecord> MachineControl::stop_record() const {
  std::lock_guard guard(lock_);
  return record_;
}

}  // namespace keel::vmm
