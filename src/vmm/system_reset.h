// The order of a machine reset (issue 10), apart from what is reset: park
// every vCPU (the pause machinery), put the devices back to power-on,
// reload the boot image, put every vCPU in its boot state, release the
// vCPUs -- unless the VM was paused, which it stays, as QEMU leaves a
// stopped VM stopped after system_reset. A stop request (quit, SIGTERM, a
// guest exit) that arrives meanwhile wins: the reset goes no further and
// the vCPUs, woken by the stop, return. The steps are callbacks so the
// order is unit-tested without KVM (machine_reset.h gives the real ones).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "keel/result.h"
#include "src/vmm/run_state.h"

namespace keel::vmm {

// A full system reset. The ACPI S3 wake (acpi_s3.h wake_machine) has its
// own sequence: the vCPUs are parked already and it enters the FACS vector.
enum class ResetKind { system };

struct ResetSteps {
  std::function<RunState()> run_state;
  // running -> paused, waiting until every vCPU is parked (MachineControl::pause).
  std::function<LifecycleResult()> park;
  // paused -> running (MachineControl::resume).
  std::function<LifecycleResult()> release;
  std::function<bool()> stop_requested;
  std::function<void()> reset_devices;          // never fails (Resettable is noexcept)
  std::function<Result<void>()> reload_image;   // kind == system only
  std::function<Result<void>()> reset_vcpus;
};

enum class ResetOutcome {
  done,          // reset; running again, or still paused if it was
  not_started,   // the VM's vCPUs have not started yet (created)
  stopping,      // a stop request came first or arrived meanwhile: nothing more was done
  timed_out,     // a vCPU did not park; nothing was reset, the VM keeps running
  failed,        // a step failed after devices were reset: the VM cannot go on
};

struct ResetResult {
  ResetOutcome outcome;
  bool was_paused = false;
  std::optional<uint32_t> stuck_vcpu;  // timed_out
  const char* failed_step = nullptr;   // failed: the error's text (a literal)
};

// Runs the steps in order; never throws (a throwing callback counts as a
// failure of that step). Not re-entrant: callers serialise resets.
ResetResult run_reset(const ResetSteps& steps, ResetKind kind) noexcept;

}  // namespace keel::vmm
