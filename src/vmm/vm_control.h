// The machine's VmControl: the first stop request wins and records why;
// every vCPU is then kicked out of KVM_RUN (through the kicker installed by
// the machine), the thread waiting in wait_for_stop() wakes up and stop_fd()
// becomes readable (for a thread that also polls other fds: stop_waiter.h).
// It also holds the run state (run_state.h): pause() parks every vCPU,
// resume() releases them, and a stop wakes parked vCPUs so they return.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "keel/vm_control.h"
#include "src/kvm/unique_fd.h"
#include "src/vmm/run_state.h"

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

  // --- Run state (the control plane: QMP stop / cont / query-status) ---
  // created -> running, once every vCPU thread runs and the kicker is
  // installed (machine.cc). After a stop request it stays stopping.
  void mark_running(uint32_t vcpu_count) noexcept;
  // stopping -> stopped, once the vCPU threads are joined.
  void mark_stopped() noexcept { run_state_.finish(); }
  RunState run_state() const noexcept { return run_state_.state(); }

  // Kicks every vCPU out of KVM_RUN and returns once all are parked
  // (`done`), or `already` when paused, `refused` unless running (or when a
  // stop arrives meanwhile), `timed_out` (VM left running, the stuck vCPU
  // named) when one does not park within `timeout`. Blocks the caller up to
  // `timeout`: call it from a control thread, never from a vCPU thread.
  LifecycleResult pause(std::chrono::milliseconds timeout = RunStateMachine::kDefaultPauseTimeout) noexcept;
  // Releases parked vCPUs; `already` when running, `refused` when not paused.
  LifecycleResult resume() noexcept { return run_state_.resume(); }
  // For observers (tests): every vCPU is parked, waiting up to `timeout`.
  bool wait_all_parked(std::chrono::milliseconds timeout) const noexcept {
    return run_state_.wait_all_parked(timeout);
  }

  // ACPI S3 (acpi_s3.h). begin_suspend: on the vCPU thread that asked to
  // sleep; sets the pause request and kicks every vCPU, never waits; false
  // unless running. complete_suspend: from a control thread, waits for the
  // vCPUs to park, then suspended. wake_from_suspend: suspended -> running.
  bool begin_suspend() noexcept;
  LifecycleResult complete_suspend(std::chrono::milliseconds timeout = RunStateMachine::kDefaultPauseTimeout) noexcept {
    return run_state_.complete_suspend(timeout);
  }
  LifecycleResult wake_from_suspend() noexcept { return run_state_.wake(); }

  // The vCPU loop's side: a lock-free check before each KVM_RUN, and the
  // park itself (returns on resume, a withdrawn pause, or a stop).
  bool pause_requested() const noexcept { return run_state_.pause_requested(); }
  void park_vcpu(uint32_t vcpu) noexcept { run_state_.park(vcpu); }

 private:
  mutable std::mutex lock_;
  std::condition_variable stopped_;
  std::atomic<bool> stopping_{false};
  std::optional<StopRecord> record_;
  bool complete_ = false;  // the first request_stop has finished its work
  std::function<void()> kicker_;
  bool kicked_ = false;
  kvm::UniqueFd stop_event_;
  RunStateMachine run_state_;
};

}  // namespace keel::vmm
