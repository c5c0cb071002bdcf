// The machine's VmControl: the first stop request wins and records why;
// every vCPU is then kicked out of KVM_RUN (through the kicker installed by
// the machine) and the thread waiting in wait_for_stop() wakes up.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "keel/vm_control.h"

namespace keel::vmm {

struct StopRecord {
  StopReason reason;
  int exit_status;
  std::string message;  // one line for stderr when reason == error; may be empty otherwise
};

class MachineControl final : public VmControl {
 public:
  void request_stop(StopReason reason, int exit_status) noexcept override;
  // Same, with a one-line message for the user (errors).
  void request_stop(StopReason reason, int exit_status, std::string_view message) noexcept;

  // Lock-free check for the vCPU loops.
  bool stop_requested() const noexcept { return stopping_.load(std::memory_order_acquire); }

  // Install once, before the vCPU threads start. Called once, by the first stop request, after the stop flag is set, to
  // kick vCPUs out of KVM_RUN. If a stop was requested before the kicker was
  // installed, the kicker runs at once.
  void set_kicker(std::function<void()> kicker);

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
};

}  // namespace keel::vmm
