// How the main thread waits for a VM to stop, and how it makes sure keel
// then really ends. Every user-side way to stop keel -- SIGINT/SIGTERM and
// the --timeout deadline here, Ctrl-A x on the console's own input thread --
// is served by a thread that runs no guest-driven work, so a guest that
// keeps the event loop (doorbells, device completions, NIC backends) or a
// vCPU busy cannot delay or prevent it (issue 9, item 4).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "src/vmm/host_signals.h"
#include "src/vmm/vm_control.h"

namespace keel::vmm {

struct StopSources {
  HostSignals* signals = nullptr;  // null: no signal handling
  // An absolute CLOCK_MONOTONIC time (system_clock().monotonic()); when it
  // has passed, on_deadline runs once on the waiting thread. It is expected
  // to request a stop (the boot-test harness's timeout does).
  std::optional<std::chrono::nanoseconds> deadline;
  std::function<void()> on_deadline;
};

// Blocks until a stop was requested (by anyone, or by `sources`). Polls the
// control's stop eventfd and the signalfd, with the deadline as poll's
// timeout: no event-loop thread is involved.
StopRecord wait_for_stop(MachineControl& control, const StopSources& sources);

// Bounds the teardown after a stop: unless disarm() is called within
// `grace`, `on_stuck` runs on the watchdog's own thread (in keel it reports,
// restores the terminal and exits the process: a vCPU or the event loop that
// does not stop -- a device handler that never returns, a vCPU blocked on a
// lock such a handler holds -- must not keep keel alive). disarm() waits for
// a running on_stuck, so the two never overlap.
class TeardownWatchdog {
 public:
  TeardownWatchdog(std::chrono::milliseconds grace, std::function<void()> on_stuck);
  ~TeardownWatchdog();  // disarm()
  TeardownWatchdog(const TeardownWatchdog&) = delete;
  TeardownWatchdog& operator=(const TeardownWatchdog&) = delete;

  void disarm() noexcept;
  bool fired() const noexcept;

 private:
  void watch(std::chrono::milliseconds grace) noexcept;

  mutable std::mutex lock_;  // also held while on_stuck runs
  std::condition_variable disarmed_cv_;
  bool disarmed_ = false;
  bool fired_ = false;
  std::function<void()> on_stuck_;
  std::thread thread_;
};

}  // namespace keel::vmm
