#include "src/vmm/vm_control.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace keel::vmm {
namespace {

TEST(MachineControl, FirstStopWins) {
  MachineControl control;
  int kicks = 0;
  control.set_kicker([&] { ++kicks; });
  EXPECT_FALSE(control.stop_requested());
  control.request_stop(StopReason::debug_exit, 7);
  control.request_stop(StopReason::guest_reset, 0);
  control.request_stop(StopReason::error, 1, "later failure");
  EXPECT_TRUE(control.stop_requested());
  StopRecord record = control.wait_for_stop();
  EXPECT_EQ(record.reason, StopReason::debug_exit);
  EXPECT_EQ(record.exit_status, 7);
  EXPECT_EQ(record.message, "");
  EXPECT_EQ(kicks, 1) << "vCPUs are kicked once";
}

TEST(MachineControl, ErrorCarriesItsMessage) {
  MachineControl control;
  control.request_stop(StopReason::error, 1, "KVM internal error: emulation failure");
  EXPECT_EQ(control.stop_record()->message, "KVM internal error: emulation failure");
}

TEST(MachineControl, StopBeforeKickerInstalledKicksOnInstall) {
  MachineControl control;
  control.request_stop(StopReason::user_quit, 130);
  int kicks = 0;
  control.set_kicker([&] { ++kicks; });
  EXPECT_EQ(kicks, 1);
  control.request_stop(StopReason::user_quit, 143);
  EXPECT_EQ(kicks, 1);
  EXPECT_EQ(control.wait_for_stop().exit_status, 130);
}

TEST(MachineControl, NoKickWithoutStop) {
  MachineControl control;
  int kicks = 0;
  control.set_kicker([&] { ++kicks; });
  EXPECT_EQ(kicks, 0);
  EXPECT_FALSE(control.stop_record());
}

TEST(MachineControl, ConcurrentRequestsExactlyOneWinsAndWaiterWakes) {
  MachineControl control;
  std::atomic<int> kicks{0};
  control.set_kicker([&] { kicks.fetch_add(1); });
  std::thread waiter([&] {
    StopRecord record = control.wait_for_stop();
    EXPECT_GE(record.exit_status, 0);
    EXPECT_LT(record.exit_status, 8);
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&control, i] {
      for (int j = 0; j < 100; ++j) control.request_stop(StopReason::debug_exit, i);
    });
  }
  for (auto& t : threads) t.join();
  waiter.join();
  EXPECT_EQ(kicks.load(), 1);
}

TEST(MachineControl, KickerMayReenterRequestStop) {
  // A vCPU thread that asks to stop kicks itself too; the kicker must not
  // deadlock when it (indirectly) calls back into the control.
  MachineControl control;
  int kicks = 0;
  control.set_kicker([&] {
    ++kicks;
    control.request_stop(StopReason::error, 1);
  });
  control.request_stop(StopReason::guest_poweroff, 0);
  EXPECT_EQ(kicks, 1);
  EXPECT_EQ(control.wait_for_stop().reason, StopReason::guest_poweroff);
}

}  // namespace
}  // namespace keel::vmm
