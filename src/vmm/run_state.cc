#include "src/vmm/run_state.h"

#include <algorithm>

namespace keel::vmm {

namespace {

bool is_ending(RunState state) noexcept { return state == RunState::stopping || state == RunState::stopped; }

}  // namespace

std::string_view to_string(RunState state) noexcept {
  switch (state) {
    case RunState::created:
      return "created";
    case RunState::running:
      return "running";
    case RunState::paused:
      return "paused";
    case RunState::suspended:
      return "suspended";
    case RunState::stopping:
      return "stopping";
    case RunState::stopped:
      return "stopped";
  }
  return "unknown";
}

RunState RunStateMachine::state() const noexcept {
  std::lock_guard guard(lock_);
  return state_;
}

bool RunStateMachine::start(uint32_t vcpu_count) noexcept {
  std::lock_guard guard(lock_);
  if (state_ != RunState::created) return false;
  try {
    parked_.assign(vcpu_count, 0);
  } catch (...) {
    return false;  // out of memory: the caller treats the VM as not started
  }
  parked_count_ = 0;
  state_ = RunState::running;
  return true;
}

bool RunStateMachine::all_parked_locked() const noexcept {
  return pause_requested_.load(std::memory_order_relaxed) && parked_count_ == parked_.size();
}

std::optional<uint32_t> RunStateMachine::first_unparked_locked() const noexcept {
  const auto it = std::find(parked_.begin(), parked_.end(), uint8_t{0});
  if (it == parked_.end()) return std::nullopt;
  return static_cast<uint32_t>(it - parked_.begin());
}

LifecycleResult RunStateMachine::pause(const std::function<void()>& kick, std::chrono::milliseconds timeout) noexcept {
  std::lock_guard command(command_lock_);
  {
    std::lock_guard guard(lock_);
    // A sleeping guest is stopped already (QEMU's do_vm_stop does nothing).
    if (state_ == RunState::paused || state_ == RunState::suspended) {
      return {LifecycleOutcome::already, state_, std::nullopt};
    }
    if (state_ != RunState::running) return {LifecycleOutcome::refused, state_, std::nullopt};
    // Set before the kick: a vCPU that the kick's immediate_exit sends back
    // to its loop must find the request there.
    pause_requested_.store(true, std::memory_order_release);
  }
  // Outside the lock: kicked vCPUs may already be parking (taking lock_).
  if (kick) {
    try {
      kick();
    } catch (...) {
      // A kicker does not throw (kick_vcpu is noexcept); if one did, the
      // wait below times out and the pause is withdrawn.
    }
  }
  std::unique_lock guard(lock_);
  const bool settled =
      changed_.wait_for(guard, timeout, [this] { return is_ending(state_) || all_parked_locked(); });
  if (is_ending(state_)) return {LifecycleOutcome::refused, state_, std::nullopt};
  if (!settled) {
    // A vCPU is stuck (a device handler that does not return): withdraw the
    // request so the parked ones do not wait for a resume nobody will send.
    const std::optional<uint32_t> stuck = first_unparked_locked();
    pause_requested_.store(false, std::memory_order_release);
    suspend_pending_ = false;  // a sleep request racing the pause is dropped with it
    changed_.notify_all();
    return {LifecycleOutcome::timed_out, state_, stuck};
  }
  state_ = RunState::paused;
  changed_.notify_all();
  return {LifecycleOutcome::done, state_, std::nullopt};
}

LifecycleResult RunStateMachine::resume() noexcept {
  std::lock_guard command(command_lock_);
  std::lock_guard guard(lock_);
  // QEMU's qmp_cont returns quietly on a suspended guest: only a wake
  // event ends S3.
  if (state_ == RunState::running || state_ == RunState::suspended) {
    return {LifecycleOutcome::already, state_, std::nullopt};
  }
  if (state_ != RunState::paused) return {LifecycleOutcome::refused, state_, std::nullopt};
  if (suspend_pending_) {
    // The guest asked to sleep while a pause parked it: it stays parked,
    // and the pending complete_suspend() makes it suspended.
    state_ = RunState::running;
    return {LifecycleOutcome::done, state_, std::nullopt};
  }
  pause_requested_.store(false, std::memory_order_release);
  state_ = RunState::running;
  changed_.notify_all();
  return {LifecycleOutcome::done, state_, std::nullopt};
}

bool RunStateMachine::request_suspend() noexcept {
  std::lock_guard guard(lock_);
  if (state_ != RunState::running || suspend_pending_) return false;
  suspend_pending_ = true;
  pause_requested_.store(true, std::memory_order_release);
  return true;
}

LifecycleResult RunStateMachine::complete_suspend(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard command(command_lock_);
  std::unique_lock guard(lock_);
  if (!suspend_pending_) return {LifecycleOutcome::refused, state_, std::nullopt};
  const bool settled = state_ == RunState::paused ||
                       changed_.wait_for(guard, timeout, [this] {
                         return is_ending(state_) || !suspend_pending_ || all_parked_locked();
                       });
  if (is_ending(state_) || !suspend_pending_) {
    suspend_pending_ = false;
    return {LifecycleOutcome::refused, state_, std::nullopt};
  }
  suspend_pending_ = false;
  if (!settled) {
    const std::optional<uint32_t> stuck = first_unparked_locked();
    pause_requested_.store(false, std::memory_order_release);
    changed_.notify_all();
    return {LifecycleOutcome::timed_out, state_, stuck};
  }
  state_ = RunState::suspended;
  changed_.notify_all();
  return {LifecycleOutcome::done, state_, std::nullopt};
}

LifecycleResult RunStateMachine::wake() noexcept {
  std::lock_guard command(command_lock_);
  std::lock_guard guard(lock_);
  if (state_ != RunState::suspended) return {LifecycleOutcome::refused, state_, std::nullopt};
  pause_requested_.store(false, std::memory_order_release);
  state_ = RunState::running;
  changed_.notify_all();
  return {LifecycleOutcome::done, state_, std::nullopt};
}

bool RunStateMachine::stop() noexcept {
  {
    std::lock_guard guard(lock_);
    if (is_ending(state_)) return false;
    state_ = RunState::stopping;
    pause_requested_.store(false, std::memory_order_release);
    suspend_pending_ = false;
  }
  changed_.notify_all();
  return true;
}

void RunStateMachine::finish() noexcept {
  std::lock_guard guard(lock_);
  if (state_ == RunState::stopping) state_ = RunState::stopped;
  changed_.notify_all();
}

void RunStateMachine::park(uint32_t vcpu) noexcept {
  std::unique_lock guard(lock_);
  if (vcpu >= parked_.size()) return;  // not a vCPU start() counted: never hold it
  if (!pause_requested_.load(std::memory_order_relaxed) || is_ending(state_)) return;
  parked_[vcpu] = 1;
  ++parked_count_;
  changed_.notify_all();  // the waiting pause() counts us
  changed_.wait(guard, [this] { return !pause_requested_.load(std::memory_order_relaxed) || is_ending(state_); });
  parked_[vcpu] = 0;
  --parked_count_;
}

bool RunStateMachine::wait_all_parked(std::chrono::milliseconds timeout) const noexcept {
  std::unique_lock guard(lock_);
  changed_.wait_for(guard, timeout, [this] { return is_ending(state_) || all_parked_locked(); });
  return !is_ending(state_) && all_parked_locked();
}

}  // namespace keel::vmm
