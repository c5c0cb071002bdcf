#include "src/vmm/vm_control.h"

namespace keel::vmm {

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
