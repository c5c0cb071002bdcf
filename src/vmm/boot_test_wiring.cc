#include "src/vmm/boot_test_wiring.h"

#include <cstdio>

#include <fmt/format.h>

namespace keel::vmm {

namespace {
constexpr std::string_view kHarnessStop = "stopped by the boot-test harness";
}  // namespace

BootTestWiring::BootTestWiring(const harness::HarnessOptions& options, console::Console& console,
                               MachineControl& control)
    : test_(std::make_unique<harness::BootTest>(options)) {
  harness::BootTest* test = test_.get();
  console.add_observer([test](std::span<const std::byte> bytes) { test->feed(bytes); });
  test_->set_on_decided([this, &control](harness::BootTest::State) {
    // The first stop request wins: if the guest or an error stopped the VM
    // already, that is how it ended (the harness's decision still stands).
    if (!control.stop_requested()) stopped_by_harness_.store(true, std::memory_order_release);
    control.request_stop(StopReason::user_quit, 0, kHarnessStop);
  });
}

harness::VmEnd vm_end_for(const StopRecord& stop, bool stopped_by_harness) {
  harness::VmEnd end{.kind = harness::VmEndKind::guest_stopped, .exit_status = stop.exit_status,
                     .description = stop.message};
  switch (stop.reason) {
    case StopReason::debug_exit:
      end.kind = harness::VmEndKind::guest_stopped;
      if (end.description.empty()) end.description = fmt::format("debug exit {}", stop.exit_status);
      break;
    case StopReason::guest_reset:
      end.kind = harness::VmEndKind::guest_stopped;
      if (end.description.empty()) end.description = "reset";
      break;
    case StopReason::guest_poweroff:
      end.kind = harness::VmEndKind::guest_stopped;
      if (end.description.empty()) end.description = "power-off";
      break;
    case StopReason::user_quit:
      end.kind = stopped_by_harness ? harness::VmEndKind::stopped_by_harness : harness::VmEndKind::interrupted;
      if (end.description.empty()) end.description = "interrupted";
      break;
    case StopReason::error:
      end.kind = harness::VmEndKind::vm_error;
      if (end.description.empty()) end.description = "the VM failed";
      break;
  }
  return end;
}

int BootTestWiring::finish(const StopRecord& stop) {
  harness::HarnessResult result = test_->finish(vm_end_for(stop, stopped_by_harness_.load(std::memory_order_acquire)));
  std::fprintf(stderr, "%s\n", harness::summary_line(result).c_str());
  return result.exit_status;
}

}  // namespace keel::vmm
