// ACPI S3 without KVM: the run state `suspended` and its transitions
// (run_state.h), and SleepControl's sequencing and QMP system_wakeup
// (acpi_s3.h) with fake hooks.
#include "src/vmm/acpi_s3.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "src/vmm/run_state.h"

namespace keel::vmm {
namespace {

using namespace std::chrono_literals;
using Outcome = LifecycleOutcome;
using WakeSource = devices::AcpiPm::WakeSource;

// Threads playing vCPUs, as run_vcpu_loop: park while a pause is requested.
class ParkingVcpus {
 public:
  ParkingVcpus(RunStateMachine& machine, uint32_t count) : machine_(machine) {
    for (uint32_t id = 0; id < count; ++id) {
      threads_.emplace_back([this, &machine, id] {
        while (!quit_.load()) {
          if (machine.pause_requested()) {
            machine.park(id);
            continue;
          }
          runs_.fetch_add(1);
          std::this_thread::sleep_for(100us);
        }
      });
    }
  }
  ~ParkingVcpus() {
    quit_.store(true);
    machine_.stop();  // releases a parked (suspended) thread
    for (auto& thread : threads_) thread.join();
  }
  uint64_t runs() const { return runs_.load(); }

 private:
  RunStateMachine& machine_;
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> runs_{0};
  std::vector<std::thread> threads_;
};

TEST(RunStateSuspend, SuspendParksEveryVcpuAndWakeReleasesThem) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(2));
  ParkingVcpus vcpus(machine, 2);
  EXPECT_EQ(to_string(RunState::suspended), "suspended");
  ASSERT_TRUE(machine.request_suspend());
  EXPECT_TRUE(machine.pause_requested());
  EXPECT_EQ(machine.state(), RunState::running);  // until complete_suspend
  EXPECT_FALSE(machine.request_suspend());         // one pending at a time
  const LifecycleResult done = machine.complete_suspend(2s);
  EXPECT_EQ(done.outcome, Outcome::done);
  EXPECT_EQ(machine.state(), RunState::suspended);
  const uint64_t before = vcpus.runs();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(vcpus.runs(), before);  // asleep: no guest progress
  EXPECT_EQ(machine.wake().outcome, Outcome::done);
  EXPECT_EQ(machine.state(), RunState::running);
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (vcpus.runs() == before && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_GT(vcpus.runs(), before);
}

TEST(RunStateSuspend, StopAndContWhileSuspendedChangeNothing) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(1));
  ParkingVcpus vcpus(machine, 1);
  ASSERT_TRUE(machine.request_suspend());
  ASSERT_EQ(machine.complete_suspend(2s).outcome, Outcome::done);
  // As QEMU 7.2: qmp_stop and qmp_cont return quietly on a suspended guest.
  EXPECT_EQ(machine.pause([] {}, 100ms).outcome, Outcome::already);
  EXPECT_EQ(machine.resume().outcome, Outcome::already);
  EXPECT_EQ(machine.state(), RunState::suspended);
  EXPECT_TRUE(machine.pause_requested());
}

TEST(RunStateSuspend, StopWhileSuspendedEnds) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(1));
  ParkingVcpus vcpus(machine, 1);
  ASSERT_TRUE(machine.request_suspend());
  ASSERT_EQ(machine.complete_suspend(2s).outcome, Outcome::done);
  EXPECT_TRUE(machine.stop());
  EXPECT_EQ(machine.state(), RunState::stopping);
  EXPECT_FALSE(machine.pause_requested());
  EXPECT_EQ(machine.wake().outcome, Outcome::refused);
}

TEST(RunStateSuspend, OnlyFromRunningAndWakeOnlyWhenSuspended) {
  RunStateMachine machine;
  EXPECT_FALSE(machine.request_suspend());  // created
  EXPECT_EQ(machine.complete_suspend(10ms).outcome, Outcome::refused);
  ASSERT_TRUE(machine.start(1));
  EXPECT_EQ(machine.wake().outcome, Outcome::refused);  // running
  EXPECT_EQ(machine.complete_suspend(10ms).outcome, Outcome::refused);  // none pending
  machine.stop();
  EXPECT_FALSE(machine.request_suspend());
}

TEST(RunStateSuspend, VcpuThatDoesNotParkTimesOutAndTheVmRuns) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(1));  // no thread parks vCPU 0
  ASSERT_TRUE(machine.request_suspend());
  const LifecycleResult result = machine.complete_suspend(20ms);
  EXPECT_EQ(result.outcome, Outcome::timed_out);
  EXPECT_EQ(result.stuck_vcpu, 0u);
  EXPECT_EQ(machine.state(), RunState::running);
  EXPECT_FALSE(machine.pause_requested());
}

TEST(RunStateSuspend, PauseThatParkedFirstBecomesSuspended) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(1));
  ParkingVcpus vcpus(machine, 1);
  ASSERT_TRUE(machine.request_suspend());
  ASSERT_EQ(machine.pause([] {}, 2s).outcome, Outcome::done);  // QMP stop raced the sleep
  EXPECT_EQ(machine.complete_suspend(2s).outcome, Outcome::done);
  EXPECT_EQ(machine.state(), RunState::suspended);
}

TEST(RunStateSuspend, StopDuringAPendingSuspendRefusesIt) {
  RunStateMachine machine;
  ASSERT_TRUE(machine.start(1));
  ASSERT_TRUE(machine.request_suspend());
  machine.stop();
  EXPECT_EQ(machine.complete_suspend(2s).outcome, Outcome::refused);
  EXPECT_EQ(machine.state(), RunState::stopping);
}

// SleepControl with fake hooks: a RunStateMachine and parking threads.
class SleepControlTest : public ::testing::Test {
 protected:
  SleepControlTest() {
    EXPECT_TRUE(machine_.start(1));
    SleepControl::Hooks hooks{
        .begin_suspend = [this] { return machine_.request_suspend(); },
        .complete_suspend = [this] { return machine_.complete_suspend(2s); },
        .run_state = [this] { return machine_.state(); },
        .wake_armed = [this](WakeSource source) { return source != WakeSource::rtc_alarm || rtc_enabled_; },
        .wake_machine =
            [this](WakeSource source) -> Result<void> {
              woken_by_.push_back(source);
              machine_.wake();
              return {};
            },
        .emit = [this](std::string_view name, const qmp::Json& data) { events_.emplace_back(name, data); },
        .schedule = [this] { ++scheduled_; },
    };
    sleep_ = std::make_unique<SleepControl>(std::move(hooks));
    sleep_->register_commands(registry_);
  }

  void suspend() {
    sleep_->on_sleep_request();
    sleep_->service();
    ASSERT_EQ(machine_.state(), RunState::suspended);
  }

  qmp::CommandResult system_wakeup() {
    const qmp::Command* command = registry_.find("system_wakeup");
    EXPECT_NE(command, nullptr);
    if (command == nullptr) return qmp::generic_error("missing");
    qmp::CommandContext context{.command_mode = true};
    return command->handler(qmp::Json::object(), context);
  }

  RunStateMachine machine_;
  ParkingVcpus vcpus_{machine_, 1};
  bool rtc_enabled_ = false;
  int scheduled_ = 0;
  std::vector<WakeSource> woken_by_;
  std::vector<std::pair<std::string, qmp::Json>> events_;
  qmp::CommandRegistry registry_;
  std::unique_ptr<SleepControl> sleep_;
};

TEST_F(SleepControlTest, SuspendSendsSuspendWithoutData) {
  sleep_->on_sleep_request();
  EXPECT_EQ(scheduled_, 1);
  EXPECT_TRUE(events_.empty());  // nothing on the vCPU thread
  sleep_->service();
  EXPECT_EQ(machine_.state(), RunState::suspended);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].first, "SUSPEND");
  EXPECT_TRUE(events_[0].second.is_null());
}

TEST_F(SleepControlTest, SystemWakeupWhileRunningIsQemusError) {
  const qmp::CommandResult result = system_wakeup();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().error_class, qmp::ErrorClass::generic_error);
  EXPECT_EQ(result.error().desc, "Unable to wake up: guest is not in suspended state");
  EXPECT_EQ(scheduled_, 0);
}

TEST_F(SleepControlTest, SystemWakeupWhileSuspendedRepliesThenWakes) {
  suspend();
  const qmp::CommandResult result = system_wakeup();
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, qmp::Json::object());
  EXPECT_EQ(machine_.state(), RunState::suspended);  // the wake follows the reply
  sleep_->service();
  EXPECT_EQ(machine_.state(), RunState::running);
  EXPECT_EQ(woken_by_, std::vector<WakeSource>{WakeSource::other});
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].first, "WAKEUP");
  EXPECT_TRUE(events_[1].second.is_null());
}

TEST_F(SleepControlTest, RtcAlarmWakesOnlyWithRtcEnabled) {
  suspend();
  EXPECT_FALSE(sleep_->request_wake(WakeSource::rtc_alarm));
  sleep_->service();
  EXPECT_EQ(machine_.state(), RunState::suspended);
  rtc_enabled_ = true;
  EXPECT_TRUE(sleep_->request_wake(WakeSource::rtc_alarm));
  sleep_->service();
  EXPECT_EQ(machine_.state(), RunState::running);
  EXPECT_EQ(woken_by_, std::vector<WakeSource>{WakeSource::rtc_alarm});
}

TEST_F(SleepControlTest, WakeEventsWhileRunningAreIgnored) {
  rtc_enabled_ = true;
  EXPECT_FALSE(sleep_->request_wake(WakeSource::power_button));
  EXPECT_FALSE(sleep_->request_wake(WakeSource::rtc_alarm));
  EXPECT_FALSE(sleep_->request_wake(WakeSource::other));
  sleep_->service();
  EXPECT_TRUE(woken_by_.empty());
  EXPECT_TRUE(events_.empty());
}

TEST_F(SleepControlTest, FirstWakeSourceWinsAndWakesOnce) {
  suspend();
  EXPECT_TRUE(sleep_->request_wake(WakeSource::power_button));
  EXPECT_TRUE(sleep_->request_wake(WakeSource::other));
  sleep_->service();
  sleep_->service();
  EXPECT_EQ(woken_by_, std::vector<WakeSource>{WakeSource::power_button});
}

TEST_F(SleepControlTest, SleepRequestAfterAStopDoesNothing) {
  machine_.stop();
  sleep_->on_sleep_request();
  sleep_->service();
  EXPECT_EQ(scheduled_, 0);
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(machine_.state(), RunState::stopping);
}

}  // namespace
}  // namespace keel::vmm
