// The run-state machine without KVM: legal and illegal transitions, and
// pause/resume/stop against threads that play vCPUs (they poll the pause
// request and park, as run_vcpu_loop does).
#include "src/vmm/run_state.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "src/vmm/vm_control.h"

namespace keel::vmm {
namespace {

using namespace std::chrono_literals;
using Outcome = LifecycleOutcome;

// Threads standing in for vCPUs: each counts "guest work" and parks when a
// pause is requested, until `quit`.
class FakeVcpus {
 public:
  FakeVcpus(RunStateMachine& machine, uint32_t count) : progress_(count) {
    for (uint32_t id = 0; id < count; ++id) {
      threads_.emplace_back([this, &machine, id] {
        while (!quit_.load()) {
          if (machine.pause_requested()) {
            machine.park(id);
            continue;
          }
          progress_[id].fetch_add(1);
          std::this_thread::sleep_for(100us);
        }
      });
    }
  }
  ~FakeVcpus() { join(); }
  void join() {
    quit_.store(true);
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  uint64_t total() const {
    uint64_t sum = 0;
    for (const auto& p : progress_) sum += p.load();
    return sum;
  }
  std::atomic<bool> quit_{false};

 private:
  std::vector<std::atomic<uint64_t>> progress_;
  std::vector<std::thread> threads_;
};

const std::function<void()> kNoKick;

TEST(RunState, Names) {
  EXPECT_EQ(to_string(RunState::created), "created");
  EXPECT_EQ(to_string(RunState::running), "running");
  EXPECT_EQ(to_string(RunState::paused), "paused");
  EXPECT_EQ(to_string(RunState::stopping), "stopping");
  EXPECT_EQ(to_string(RunState::stopped), "stopped");
}

TEST(RunState, CreatedRefusesPauseAndResume) {
  RunStateMachine machine;
  EXPECT_EQ(machine.state(), RunState::created);
  LifecycleResult paused = machine.pause(kNoKick, 10ms);
  EXPECT_EQ(paused.outcome, Outcome::refused);
  EXPECT_EQ(paused.state, RunState::created);
  EXPECT_FALSE(paused.ok());
  EXPECT_EQ(machine.resume().outcome, Outcome::refused);
  EXPECT_FALSE(machine.pause_requested());
}

TEST(RunState, StartOnlyFromCreated) {
  RunStateMachine machine;
  EXPECT_TRUE(machine.start(2));
  EXPECT_EQ(machine.state(), RunState::running);
  EXPECT_FALSE(machine.start(2));
}

TEST(RunState, StopFromEveryLiveStateThenFinish) {
  for (RunState from : {RunState::created, RunState::running, RunState::paused}) {
    SCOPED_TRACE(to_string(from));
    RunStateMachine machine;
    if (from != RunState::created) {
      ASSERT_TRUE(machine.start(0));  // no vCPUs: a pause parks at once
    }
    if (from == RunState::paused) {
      ASSERT_EQ(machine.pause(kNoKick, 1s).outcome, Outcome::done);
    }
    ASSERT_EQ(machine.state(), from);
    EXPECT_TRUE(machine.stop());
    EXPECT_EQ(machine.state(), RunState::stopping);
    EXPECT_FALSE(machine.stop()) << "a second stop changes nothing";
    EXPECT_FALSE(machine.start(1)) << "no start after a stop";
    EXPECT_EQ(machine.pause(kNoKick, 10ms).outcome, Outcome::refused);
    EXPECT_EQ(machine.resume().outcome, Outcome::refused);
    machine.finish();
    EXPECT_EQ(machine.state(), RunState::stopped);
    EXPECT_FALSE(machine.stop());
    EXPECT_EQ(machine.pause(kNoKick, 10ms).state, RunState::stopped);
  }
}

TEST(RunState, FinishOnlyAfterStop) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(1));
  machine.finish();
  EXPECT_EQ(machine.state(), RunState::running);
}

TEST(RunState, PauseParksEveryVcpuAndResumeReleasesThem) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(3));
  FakeVcpus vcpus(machine, 3);
  int kicks = 0;
  const std::function<void()> kick = [&] { ++kicks; };
  while (vcpus.total() < 30) std::this_thread::sleep_for(1ms);

  LifecycleResult paused = machine.pause(kick, 5s);
  EXPECT_EQ(paused.outcome, Outcome::done);
  EXPECT_EQ(paused.state, RunState::paused);
  EXPECT_EQ(kicks, 1);
  EXPECT_TRUE(machine.wait_all_parked(0ms));
  const uint64_t frozen = vcpus.total();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(vcpus.total(), frozen) << "a parked vCPU made progress";

  LifecycleResult again = machine.pause(kick, 5s);
  EXPECT_EQ(again.outcome, Outcome::already) << "QMP stop when already paused succeeds";
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(kicks, 1) << "no kick when already paused";

  EXPECT_EQ(machine.resume().outcome, Outcome::done);
  EXPECT_EQ(machine.state(), RunState::running);
  EXPECT_FALSE(machine.pause_requested());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (vcpus.total() <= frozen + 30 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_GT(vcpus.total(), frozen + 30) << "vCPUs did not run again after resume";
  EXPECT_EQ(machine.resume().outcome, Outcome::already);
  EXPECT_FALSE(machine.wait_all_parked(10ms));
}

TEST(RunState, RepeatedPauseResumeCycles) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(2));
  FakeVcpus vcpus(machine, 2);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(machine.pause(kNoKick, 5s).outcome, Outcome::done) << "cycle " << i;
    ASSERT_EQ(machine.resume().outcome, Outcome::done) << "cycle " << i;
  }
  EXPECT_TRUE(machine.stop());
  vcpus.join();
}

TEST(RunState, PauseTimesOutOnAStuckVcpuAndWithdraws) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(2));
  // vCPU 0 parks; vCPU 1 is "stuck in a device handler" and never does.
  std::atomic<bool> released{false};
  std::thread vcpu0([&] {
    while (!machine.pause_requested()) std::this_thread::sleep_for(100us);
    machine.park(0);
    released.store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  LifecycleResult result = machine.pause(kNoKick, 200ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_EQ(result.outcome, Outcome::timed_out);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.state, RunState::running);
  ASSERT_TRUE(result.stuck_vcpu.has_value());
  EXPECT_EQ(*result.stuck_vcpu, 1u);
  EXPECT_FALSE(machine.pause_requested()) << "the request is withdrawn";
  vcpu0.join();
  EXPECT_TRUE(released.load()) << "the parked vCPU runs again";
  EXPECT_EQ(machine.state(), RunState::running);
}

TEST(RunState, StopWhilePausedWakesParkedVcpus) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(4));
  std::vector<std::thread> threads;
  std::atomic<int> returned{0};
  for (uint32_t id = 0; id < 4; ++id) {
    threads.emplace_back([&, id] {
      while (!machine.pause_requested()) std::this_thread::sleep_for(100us);
      machine.park(id);
      returned.fetch_add(1);
    });
  }
  ASSERT_EQ(machine.pause(kNoKick, 5s).outcome, Outcome::done);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(returned.load(), 0) << "parked vCPUs stay parked until resume or stop";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(machine.stop());
  for (auto& thread : threads) thread.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(returned.load(), 4);
  EXPECT_EQ(machine.state(), RunState::stopping);
  EXPECT_EQ(machine.resume().outcome, Outcome::refused) << "no resume after a stop";
}

TEST(RunState, StopEndsAPauseStillWaiting) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(1));  // the one vCPU never parks
  auto pause = std::async(std::launch::async, [&] { return machine.pause(kNoKick, 10s); });
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(machine.stop());
  LifecycleResult result = pause.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(result.outcome, Outcome::refused);
  EXPECT_EQ(result.state, RunState::stopping);
}

TEST(RunState, ConcurrentPauseResumeAndStop) {
  // Controllers race pause/resume while a stop lands; everyone must return
  // and the vCPUs must end.
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(2));
  FakeVcpus vcpus(machine, 2);
  std::atomic<bool> done{false};
  std::vector<std::thread> controllers;
  for (int c = 0; c < 3; ++c) {
    controllers.emplace_back([&] {
      while (!done.load()) {
        LifecycleResult p = machine.pause(kNoKick, 5s);
        EXPECT_NE(p.outcome, Outcome::timed_out);
        machine.resume();
      }
    });
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(machine.stop());
  done.store(true);
  for (auto& thread : controllers) thread.join();
  vcpus.join();
  EXPECT_EQ(machine.state(), RunState::stopping);
}

TEST(RunState, ParkWithoutRequestOrUnknownIdReturnsAtOnce) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(1));
  machine.park(0);  // no pause requested
  auto pause = std::async(std::launch::async, [&] { return machine.pause(kNoKick, 150ms); });
  while (!machine.pause_requested()) std::this_thread::sleep_for(100us);
  machine.park(7);  // not a counted vCPU: must not block
  EXPECT_EQ(pause.get().outcome, Outcome::timed_out);
}

// MachineControl: the stop path drives the run state.
TEST(MachineControlRunState, PauseUsesTheKickerAndStopWakesParkedVcpus) {
  MachineControl control;
  std::atomic<int> kicks{0};
  control.set_kicker([&] { kicks.fetch_add(1); });
  EXPECT_EQ(control.pause(10ms).outcome, Outcome::refused) << "not running yet";
  control.mark_running(1);
  EXPECT_EQ(control.run_state(), RunState::running);
  std::thread vcpu([&] {
    while (!control.stop_requested()) {
      if (control.pause_requested()) control.park_vcpu(0);
      std::this_thread::sleep_for(100us);
    }
  });
  EXPECT_EQ(control.pause().outcome, Outcome::done);
  EXPECT_EQ(kicks.load(), 1);
  EXPECT_EQ(control.run_state(), RunState::paused);
  EXPECT_TRUE(control.wait_all_parked(0ms));
  control.request_stop(StopReason::user_quit, 143);
  vcpu.join();
  EXPECT_EQ(kicks.load(), 2) << "the stop kicks too";
  EXPECT_EQ(control.run_state(), RunState::stopping);
  control.mark_stopped();
  EXPECT_EQ(control.run_state(), RunState::stopped);
}

TEST(MachineControlRunState, StopBeforeStartKeepsItStopping) {
  MachineControl control;
  control.request_stop(StopReason::error, 1, "could not start");
  control.mark_running(2);
  EXPECT_EQ(control.run_state(), RunState::stopping);
  EXPECT_EQ(control.pause(10ms).outcome, Outcome::refused);
}

}  // namespace
}  // namespace keel::vmm
