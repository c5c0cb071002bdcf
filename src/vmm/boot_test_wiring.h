// Connects the boot-test harness (src/harness/, `keel run --expect ...`) to a
// running machine: the console feeds it, the main thread enforces --timeout
// (deadline() / check_deadline(), through wait_for_stop() in stop_waiter.h,
// not an event-loop timer a guest could delay), its decision stops the VM,
// and how the VM ended becomes keel's exit status.
#pragma once

#include <atomic>
#include <memory>

#include "src/console/console.h"
#include "src/harness/boot_test.h"
#include "src/vmm/vm_control.h"

namespace keel::vmm {

class BootTestWiring {
 public:
  // Before the vCPUs start. Throws ConfigError for bad regexes or report
  // paths (BootTest's checks). The console must outlive every feed, i.e.
  // keep the vCPUs from writing to it once this object is gone.
  BootTestWiring(const harness::HarnessOptions& options, console::Console& console, MachineControl& control);
  BootTestWiring(const BootTestWiring&) = delete;
  BootTestWiring& operator=(const BootTestWiring&) = delete;

  // --timeout as an absolute CLOCK_MONOTONIC time, if given; once it has
  // passed, check_deadline() decides "timed out" (unless something was
  // decided already) and so requests the stop.
  std::optional<std::chrono::nanoseconds> deadline() const noexcept { return test_->deadline(); }
  void check_deadline() noexcept { test_->check_deadline(); }

  // After the VM stopped (vCPUs joined): writes the reports, prints the
  // summary line on stderr and returns keel's exit status.
  int finish(const StopRecord& stop);

 private:
  std::unique_ptr<harness::BootTest> test_;
  // Set when the harness's decision was the first stop request.
  std::atomic<bool> stopped_by_harness_{false};
};

// How the VM ended, for BootTest::finish (pure, for tests).
harness::VmEnd vm_end_for(const StopRecord& stop, bool stopped_by_harness);

}  // namespace keel::vmm
