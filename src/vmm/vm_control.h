// The machine's VmControl: the first stop request wins and records why;
// every vCPU is then kicked out of KVM_RUN (through the kicker installed by
// the machine), the thread waiting in wait_for_stop() wakes up and stop_fd()
// becomes readable (for a thread that also polls other fds: stop_waiter.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "keel/vm_control.h"
#include "src/kvm/unique_fd.h"

namespace keel::vmm {

struct StopRecord {
  StopReason reason;
  int exit_status;
  std::string message;  // one line for stderr when reason == error; may be empty otherwise
};

class MachineControl final : public VmControl {
 public:
  MachineControl();  // throws std::system_error if the eventfd cannot be made
  void request_stop(StopReason reason, int exit_status) noexcept override;
  // Same, with a one-line message for the user (errors).
  void request_stop(StopReason reason, int exit_status, std::string_view message) noexcept;

  // Lock-free check for the vCPU loops.
  bool stop_requested() const noexcept { return stopping_.load(std::memory_order_acquire); }

  // Install once, before the vCPU threads start. Called once, by the first stop request, after the stop flag is set, to
  // kick vCPUs out of KVM_RUN. If a stop was requested before the kicker was
  // installed, the kicker runs at once.
  void set_kicker(std::function<void()> kicker);

  // An eventfd that is readable once a stop was requested (never drained).
  int stop_fd() const noexcept { return stop_event_.get(); }

  // Blocks until a stop request arrives.
  StopRecord wait_for_stop();
  std::optional<StopRecord> stop_record() const;

 private:
  mutable std::mutex lock_;
  std::condition_variable stopped_;
  std::atomic<bool> stopping_{false};
  std::optional<StopRecord> record_;
  std::function<void()> kicker_;
  bool kicked_ = false;
  kvm::UniqueFd stop_event_;
};

}  // namespace keel::vmm
