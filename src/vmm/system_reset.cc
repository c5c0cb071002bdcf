#include "src/vmm/system_reset.h"

namespace keel::vmm {

namespace {

bool is_ending(RunState state) noexcept { return state == RunState::stopping || state == RunState::stopped; }

// A step's error, or a throwing callback (out of memory in a std::function).
const char* run_step(const std::function<Result<void>()>& step, const char* what) noexcept {
  if (!step) return nullptr;
  try {
    const Result<void> result = step();
    return result ? nullptr : result.error().what;
  } catch (...) {
    return what;
  }
}

ResetResult result(ResetOutcome outcome, bool was_paused = false) noexcept {
  return ResetResult{.outcome = outcome, .was_paused = was_paused, .stuck_vcpu = std::nullopt, .failed_step = nullptr};
}

ResetResult failure(const char* step, bool was_paused) noexcept {
  return ResetResult{.outcome = ResetOutcome::failed, .was_paused = was_paused, .stuck_vcpu = std::nullopt,
                     .failed_step = step};
}

}  // namespace

ResetResult run_reset(const ResetSteps& steps, ResetKind kind) noexcept {
  try {
    const RunState state = steps.run_state();
    if (is_ending(state)) return result(ResetOutcome::stopping);
    if (state == RunState::created) return result(ResetOutcome::not_started);
    const bool was_paused = state == RunState::paused;
    if (!was_paused) {
      const LifecycleResult parked = steps.park();
      switch (parked.outcome) {
        case LifecycleOutcome::done:
        case LifecycleOutcome::already:
          break;
        case LifecycleOutcome::timed_out:
          return ResetResult{.outcome = ResetOutcome::timed_out, .was_paused = false,
                             .stuck_vcpu = parked.stuck_vcpu, .failed_step = nullptr};
        case LifecycleOutcome::refused:
          return result(is_ending(parked.state) ? ResetOutcome::stopping : ResetOutcome::not_started);
      }
    }
    // Every vCPU sits in park() now. From here a stop request wakes them
    // and they return without entering the guest; the reset stops too.
    if (steps.stop_requested()) return result(ResetOutcome::stopping, was_paused);
    steps.reset_devices();
    if (steps.stop_requested()) return result(ResetOutcome::stopping, was_paused);
    if (kind == ResetKind::system) {
      if (const char* error = run_step(steps.reload_image, "reloading the boot image failed")) {
        return failure(error, was_paused);
      }
    }
    if (const char* error = run_step(steps.reset_vcpus, "resetting the vCPUs failed")) {
      return failure(error, was_paused);
    }
    if (was_paused) return result(ResetOutcome::done, true);
    const LifecycleResult released = steps.release();
    if (!released.ok()) return result(ResetOutcome::stopping, false);  // only a stop makes resume refuse here
    return result(ResetOutcome::done, false);
  } catch (...) {
    // A callback threw where none should (std::function on an empty target).
    return failure("internal error in the reset sequence", false);
  }
}

}  // namespace keel::vmm
