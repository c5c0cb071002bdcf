// How a machine stop becomes the harness's VmEnd (boot_test_wiring.h).
#include "src/vmm/boot_test_wiring.h"

#include <gtest/gtest.h>

namespace keel::vmm {
namespace {

using harness::VmEndKind;

TEST(BootTestWiring, GuestStopsAreGuestStopped) {
  EXPECT_EQ(vm_end_for({StopReason::debug_exit, 3, {}}, false).kind, VmEndKind::guest_stopped);
  EXPECT_EQ(vm_end_for({StopReason::debug_exit, 3, {}}, false).description, "debug exit 3");
  EXPECT_EQ(vm_end_for({StopReason::debug_exit, 3, {}}, false).exit_status, 3);
  EXPECT_EQ(vm_end_for({StopReason::guest_poweroff, 0, {}}, false).description, "power-off");
  EXPECT_EQ(vm_end_for({StopReason::guest_reset, 0, "guest reset (triple fault)"}, false).description,
            "guest reset (triple fault)");
  EXPECT_EQ(vm_end_for({StopReason::guest_reset, 0, {}}, false).kind, VmEndKind::guest_stopped);
}

TEST(BootTestWiring, ErrorsAreVmErrorsWithTheirMessage) {
  const harness::VmEnd end = vm_end_for({StopReason::error, 1, "PVM emulation failure (...): KVM internal error"}, false);
  EXPECT_EQ(end.kind, VmEndKind::vm_error);
  EXPECT_EQ(end.exit_status, 1);
  EXPECT_EQ(end.description, "PVM emulation failure (...): KVM internal error");
  EXPECT_EQ(vm_end_for({StopReason::error, 1, {}}, false).description, "the VM failed");
}

TEST(BootTestWiring, UserQuitIsTheHarnessOnlyWhenItStoppedTheVm) {
  EXPECT_EQ(vm_end_for({StopReason::user_quit, 0, "stopped by the boot-test harness"}, true).kind,
            VmEndKind::stopped_by_harness);
  EXPECT_EQ(vm_end_for({StopReason::user_quit, 130, {}}, false).kind, VmEndKind::interrupted);
  EXPECT_EQ(vm_end_for({StopReason::user_quit, 143, {}}, false).exit_status, 143);
}

}  // namespace
}  // namespace keel::vmm
