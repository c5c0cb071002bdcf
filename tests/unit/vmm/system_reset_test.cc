// The order of a machine reset (system_reset.h) with recording steps, the
// ResetList, and QMP system_reset's replies and RESET event -- no KVM.
#include "src/vmm/system_reset.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keel/resettable.h"
#include "src/vmm/qmp_reset_command.h"

namespace keel::vmm {
namespace {

// Records every step in order; behaviour per step is configurable.
struct Recorder {
  std::vector<std::string> calls;
  RunState state = RunState::running;
  LifecycleOutcome park_outcome = LifecycleOutcome::done;
  bool stop_after_devices = false;
  bool stop = false;
  bool reload_fails = false;

  ResetSteps steps() {
    return ResetSteps{
        .run_state = [this] { return state; },
        .park =
            [this] {
              calls.push_back("park");
              if (park_outcome == LifecycleOutcome::done) state = RunState::paused;
              return LifecycleResult{park_outcome, state,
                                     park_outcome == LifecycleOutcome::timed_out ? std::optional<uint32_t>(1)
                                                                                 : std::nullopt};
            },
        .release =
            [this] {
              calls.push_back("release");
              if (stop) return LifecycleResult{LifecycleOutcome::refused, RunState::stopping, std::nullopt};
              state = RunState::running;
              return LifecycleResult{LifecycleOutcome::done, state, std::nullopt};
            },
        .stop_requested = [this] { return stop; },
        .reset_devices =
            [this] {
              calls.push_back("devices");
              if (stop_after_devices) stop = true;
            },
        .reload_image =
            [this]() -> Result<void> {
              calls.push_back("reload");
              if (reload_fails) return fail(Errc::io_error, "reloading the boot image failed");
              return {};
            },
        .reset_vcpus =
            [this]() -> Result<void> {
              calls.push_back("vcpus");
              return {};
            },
    };
  }
};

using Calls = std::vector<std::string>;

TEST(SystemReset, RunningVmIsParkedResetReloadedAndReleased) {
  Recorder r;
  const ResetResult result = run_reset(r.steps(), ResetKind::system);
  EXPECT_EQ(result.outcome, ResetOutcome::done);
  EXPECT_FALSE(result.was_paused);
  EXPECT_EQ(r.calls, (Calls{"park", "devices", "reload", "vcpus", "release"}));
  EXPECT_EQ(r.state, RunState::running);
}

TEST(SystemReset, PausedVmStaysPaused) {
  Recorder r;
  r.state = RunState::paused;
  const ResetResult result = run_reset(r.steps(), ResetKind::system);
  EXPECT_EQ(result.outcome, ResetOutcome::done);
  EXPECT_TRUE(result.was_paused);
  EXPECT_EQ(r.calls, (Calls{"devices", "reload", "vcpus"}));
  EXPECT_EQ(r.state, RunState::paused);
}

TEST(SystemReset, StopArrivingDuringTheResetWins) {
  Recorder r;
  r.stop_after_devices = true;
  const ResetResult result = run_reset(r.steps(), ResetKind::system);
  EXPECT_EQ(result.outcome, ResetOutcome::stopping);
  EXPECT_EQ(r.calls, (Calls{"park", "devices"}));  // no reload, no release
}

TEST(SystemReset, StopBeforeTheResetDoesNothing) {
  Recorder r;
  r.state = RunState::stopping;
  EXPECT_EQ(run_reset(r.steps(), ResetKind::system).outcome, ResetOutcome::stopping);
  EXPECT_TRUE(r.calls.empty());
  Recorder parked_then_stopped;
  parked_then_stopped.park_outcome = LifecycleOutcome::refused;
  parked_then_stopped.state = RunState::running;
  // pause() refused because a stop came while it waited.
  ResetSteps steps = parked_then_stopped.steps();
  steps.park = [] { return LifecycleResult{LifecycleOutcome::refused, RunState::stopping, std::nullopt}; };
  EXPECT_EQ(run_reset(steps, ResetKind::system).outcome, ResetOutcome::stopping);
  EXPECT_TRUE(parked_then_stopped.calls.empty());
}

TEST(SystemReset, NotStartedAndStuckVcpuResetNothing) {
  Recorder created;
  created.state = RunState::created;
  EXPECT_EQ(run_reset(created.steps(), ResetKind::system).outcome, ResetOutcome::not_started);
  EXPECT_TRUE(created.calls.empty());

  Recorder stuck;
  stuck.park_outcome = LifecycleOutcome::timed_out;
  const ResetResult result = run_reset(stuck.steps(), ResetKind::system);
  EXPECT_EQ(result.outcome, ResetOutcome::timed_out);
  EXPECT_EQ(result.stuck_vcpu, std::optional<uint32_t>(1));
  EXPECT_EQ(stuck.calls, (Calls{"park"}));
}

TEST(SystemReset, FailedReloadStopsBeforeTheVcpus) {
  Recorder r;
  r.reload_fails = true;
  const ResetResult result = run_reset(r.steps(), ResetKind::system);
  EXPECT_EQ(result.outcome, ResetOutcome::failed);
  ASSERT_NE(result.failed_step, nullptr);
  EXPECT_STREQ(result.failed_step, "reloading the boot image failed");
  EXPECT_EQ(r.calls, (Calls{"park", "devices", "reload"}));  // never released into a half-reset VM
}

class CountingDevice final : public Resettable {
 public:
  CountingDevice(std::vector<std::string>& log, std::string name) : log_(log), name_(std::move(name)) {}
  void reset() noexcept override { log_.push_back(name_); }

 private:
  std::vector<std::string>& log_;
  std::string name_;
};

TEST(ResetList, ResetsEveryEntryInOrderAndSkipsNull) {
  std::vector<std::string> log;
  CountingDevice uart(log, "uart"), pci(log, "pci");
  ResetList list;
  list.add("COM1 UART", &uart);
  list.add("nothing", nullptr);
  list.add("PCI", &pci);
  EXPECT_EQ(list.size(), 2u);
  list.reset_all();
  list.reset_all();
  EXPECT_EQ(log, (Calls{"uart", "pci", "uart", "pci"}));
  EXPECT_EQ(list.entries()[1].name, "PCI");
}

struct Emitted {
  std::string name;
  qmp::Json data;
};

TEST(ResetCommand, DoneSendsResetWithQemuDataAndEmptyReturn) {
  std::vector<Emitted> events;
  ResetCommand command([] { return ResetResult{ResetOutcome::done, false, std::nullopt, nullptr}; },
                       [&events](std::string_view name, const qmp::Json& data) {
                         events.push_back({std::string(name), data});
                       });
  const qmp::CommandResult reply = command.system_reset();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, qmp::Json::object());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "RESET");
  EXPECT_EQ(events[0].data, (qmp::Json{{"guest", false}, {"reason", "host-qmp-system-reset"}}));
}

TEST(ResetCommand, FailuresAreGenericErrorsWithoutAnEvent) {
  int events = 0;
  const auto emit = [&events](std::string_view, const qmp::Json&) { ++events; };
  const std::pair<ResetResult, std::string> cases[] = {
      {{ResetOutcome::timed_out, false, 2, nullptr}, "vCPU 2 did not pause"},
      {{ResetOutcome::stopping, false, std::nullopt, nullptr}, "shutting down"},
      {{ResetOutcome::not_started, false, std::nullopt, nullptr}, "not started"},
      {{ResetOutcome::failed, false, std::nullopt, "KVM_SET_SREGS"}, "system_reset failed: KVM_SET_SREGS"},
  };
  for (const auto& [result, words] : cases) {
    ResetCommand command([result] { return result; }, emit);
    const qmp::CommandResult reply = command.system_reset();
    ASSERT_FALSE(reply.has_value());
    EXPECT_EQ(reply.error().error_class, qmp::ErrorClass::generic_error);
    EXPECT_NE(reply.error().desc.find(words), std::string::npos) << reply.error().desc;
  }
  EXPECT_EQ(events, 0);
}

TEST(ResetCommand, RegistersSystemResetWithoutArguments) {
  qmp::CommandRegistry registry;
  ResetCommand command([] { return ResetResult{ResetOutcome::done, false, std::nullopt, nullptr}; }, {});
  command.register_commands(registry);
  const qmp::Command* found = registry.find("system_reset");
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(found->arguments.empty());
}

}  // namespace
}  // namespace keel::vmm
