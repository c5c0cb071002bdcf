// The VM's run state as an explicit state machine (issue 10, item 1):
//
//   created --start--> running --pause--> paused --resume--> running
//   created / running / paused --stop--> stopping --finish--> stopped
//   running --request_suspend, complete_suspend--> suspended --wake--> running
//   suspended --stop--> stopping
//
// suspended is ACPI S3 (the guest asked to sleep, RAM kept): the vCPUs are
// parked as for a pause, but only a wake event ends it. stop and cont while
// suspended change nothing, as QEMU 7.2's qmp_stop/qmp_cont (`already`).
//
// pause() is the only transition that waits: it asks every vCPU to park
// (the caller's `kick` makes each one leave KVM_RUN), and returns once all
// of them sit in park(), or gives up after a bounded time (a vCPU stuck in
// a device handler) and lets the parked ones run again. A stop is never
// refused and never waits: it wakes parked vCPUs so they see the stop and
// return, and it ends a pause() that is still waiting. Knows nothing of KVM,
// so it is unit-tested without /dev/kvm.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace keel::vmm {

enum class RunState { created, running, paused, suspended, stopping, stopped };

// "created", "running", "paused", "suspended", "stopping", "stopped".
std::string_view to_string(RunState state) noexcept;

enum class LifecycleOutcome {
  done,       // the transition happened
  already,    // the VM was already there (pause when paused, resume when running): not an error for QMP
  refused,    // not allowed from the current state (see `state`)
  timed_out,  // pause only: a vCPU did not park in time; the VM keeps running
};

struct LifecycleResult {
  LifecycleOutcome outcome;
  RunState state;                       // the state after the call
  std::optional<uint32_t> stuck_vcpu;   // timed_out: the first vCPU that did not park
  bool ok() const noexcept { return outcome == LifecycleOutcome::done || outcome == LifecycleOutcome::already; }
};

class RunStateMachine {
 public:
  static constexpr std::chrono::milliseconds kDefaultPauseTimeout{5'000};

  RunState state() const noexcept;

  // created -> running, for `vcpu_count` vCPUs (ids 0..vcpu_count-1). False
  // from any other state (a stop before the start wins).
  bool start(uint32_t vcpu_count) noexcept;

  // running -> paused: sets the pause request, runs `kick` (which must make
  // every vCPU thread reach park(): immediate_exit plus a signal), then
  // waits up to `timeout` for all of them. paused: `already`. Any other
  // state: `refused`. A stop while waiting ends the wait (`refused`,
  // state stopping). On timeout the request is withdrawn, parked vCPUs run
  // again and the state stays running. Never call it from a vCPU thread
  // (it would wait for itself). pause() and resume() calls are serialised.
  LifecycleResult pause(const std::function<void()>& kick,
                        std::chrono::milliseconds timeout = kDefaultPauseTimeout) noexcept;
  // paused -> running, releasing the parked vCPUs; does not wait for them.
  // running or suspended: `already` (cont does not wake a sleeping guest);
  // any other state: `refused`.
  LifecycleResult resume() noexcept;

  // ACPI S3, first half, on the vCPU thread that asked to sleep: never
  // waits. running -> (still running, suspend pending): sets the pause
  // request so every vCPU parks once kicked (the caller kicks). False in
  // any other state or when a suspend is already pending.
  bool request_suspend() noexcept;
  // Second half, from a control thread: waits up to `timeout` for every
  // vCPU to park, then -> suspended (`done`). Also `done` when a pause()
  // parked them first (paused -> suspended: the guest is asleep either
  // way). `refused` without a pending suspend or when a stop came;
  // `timed_out`: the request is withdrawn and the VM keeps running.
  LifecycleResult complete_suspend(std::chrono::milliseconds timeout = kDefaultPauseTimeout) noexcept;
  // suspended -> running, releasing the parked vCPUs (after the machine
  // has put them at the waking vector). `refused` unless suspended.
  LifecycleResult wake() noexcept;

  // created / running / paused -> stopping; wakes parked vCPUs and a
  // waiting pause(). False when already stopping or stopped.
  bool stop() noexcept;
  // stopping -> stopped, once the vCPU threads are joined. No effect in any
  // other state.
  void finish() noexcept;

  // The vCPU loop's lock-free check before each KVM_RUN.
  bool pause_requested() const noexcept { return pause_requested_.load(std::memory_order_acquire); }
  // On vCPU `vcpu`'s thread: blocks while a pause is requested, until
  // resume, a withdrawn pause or a stop. Returns at once if none is.
  void park(uint32_t vcpu) noexcept;

  // For observers: true once a pause is requested and every vCPU is parked;
  // false after `timeout`, or at once when stopping/stopped.
  bool wait_all_parked(std::chrono::milliseconds timeout) const noexcept;

 private:
  bool all_parked_locked() const noexcept;
  std::optional<uint32_t> first_unparked_locked() const noexcept;

  std::mutex command_lock_;  // serialises pause() and resume(); stop() never takes it
  mutable std::mutex lock_;
  mutable std::condition_variable changed_;
  RunState state_ = RunState::created;
  std::atomic<bool> pause_requested_{false};
  bool suspend_pending_ = false;  // request_suspend() until complete_suspend()
  std::vector<uint8_t> parked_;  // per vCPU id; sized by start()
  uint32_t parked_count_ = 0;
};

}  // namespace keel::vmm
