// The VM's QMP commands (src/vmm/qmp_commands.h) on a MachineControl whose
// one "vCPU" is a plain thread that parks when asked: no KVM.
#include "src/vmm/qmp_commands.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "src/qmp/command_registry.h"
#include "src/vmm/exit_status.h"

namespace keel::vmm {
namespace {

using qmp::Json;

class QmpCommands : public ::testing::Test {
 protected:
  QmpCommands() { make_commands(""); }
  ~QmpCommands() override {
    control_.request_stop(StopReason::user_quit, 0);  // wakes a parked "vCPU"
    done_.store(true);
    if (vcpu_.joinable()) vcpu_.join();
  }

  void make_commands(std::string name) {
    registry_ = std::make_unique<qmp::CommandRegistry>();
    commands_ = std::make_unique<VmCommands>(
        control_, [this](std::string_view event, const Json& data) { events_.emplace_back(event, data); },
        [this] { return thread_ids_; }, std::move(name));
    commands_->register_commands(*registry_);
  }

  // created -> running with one vCPU thread that parks while a pause is requested.
  void start() {
    control_.set_kicker([] {});
    vcpu_ = std::thread([this] {
      while (!done_.load() && !control_.stop_requested()) {
        if (control_.pause_requested()) {
          control_.park_vcpu(0);
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
    });
    control_.mark_running(1);
  }

  qmp::CommandResult call(std::string_view name, const Json& arguments = Json::object()) {
    const qmp::Command* command = registry_->find(name);
    EXPECT_NE(command, nullptr) << name;
    if (command == nullptr) return qmp::generic_error("missing");
    if (auto error = qmp::check_arguments(arguments, command->arguments)) return std::unexpected(*error);
    qmp::CommandContext context{.command_mode = true};
    return command->handler(arguments, context);
  }

  Json status() {
    auto result = call("query-status");
    EXPECT_TRUE(result.has_value());
    return result.value_or(Json());
  }

  std::vector<std::string> event_names() {
    std::vector<std::string> names;
    for (const auto& [name, data] : events_) names.push_back(name);
    events_.clear();
    return names;
  }

  MachineControl control_;
  std::vector<std::pair<std::string, Json>> events_;
  std::vector<int> thread_ids_;
  std::unique_ptr<qmp::CommandRegistry> registry_;
  std::unique_ptr<VmCommands> commands_;
  std::atomic<bool> done_{false};
  std::thread vcpu_;
};

TEST_F(QmpCommands, StatusBeforeTheStartIsPrelaunch) {
  EXPECT_EQ(status().dump(), R"({"status":"prelaunch","singlestep":false,"running":false})");
  auto stop = call("stop");
  ASSERT_FALSE(stop.has_value());
  EXPECT_EQ(stop.error().desc, "cannot stop: the VM has not started yet");
  EXPECT_EQ(call("human-monitor-command", {{"command-line", "info status"}}).value(),
            "VM status: paused (prelaunch)\r\n");
}

TEST_F(QmpCommands, StopAndContFollowTheRunState) {
  start();
  EXPECT_EQ(status().dump(), R"({"status":"running","singlestep":false,"running":true})");

  EXPECT_EQ(call("stop").value(), Json::object());
  EXPECT_EQ(event_names(), std::vector<std::string>{"STOP"});
  EXPECT_EQ(control_.run_state(), RunState::paused);
  EXPECT_EQ(status().dump(), R"({"status":"paused","singlestep":false,"running":false})");
  EXPECT_EQ(call("human-monitor-command", {{"command-line", "info status"}}).value(), "VM status: paused\r\n");
  // Already paused: {} and no event, as QEMU.
  EXPECT_EQ(call("stop").value(), Json::object());
  EXPECT_TRUE(event_names().empty());

  EXPECT_EQ(call("cont").value(), Json::object());
  EXPECT_EQ(event_names(), std::vector<std::string>{"RESUME"});
  EXPECT_EQ(control_.run_state(), RunState::running);
  EXPECT_EQ(call("cont").value(), Json::object());
  EXPECT_TRUE(event_names().empty());
  EXPECT_EQ(call("human-monitor-command", {{"command-line", "  info \t status "}}).value(), "VM status: running\r\n");
}

TEST_F(QmpCommands, AStoppingVmRefusesStopAndCont) {
  start();
  control_.request_stop(StopReason::guest_poweroff, 0);
  EXPECT_EQ(status()["status"], "shutdown");
  EXPECT_EQ(call("stop").error().desc, "cannot stop: the VM is shutting down");
  EXPECT_EQ(call("cont").error().desc, "cannot cont: the VM is shutting down");
  EXPECT_EQ(call("human-monitor-command", {{"command-line", "info status"}}).value(),
            "VM status: paused (shutdown)\r\n");
  EXPECT_TRUE(event_names().empty());
  // quit now: no second SHUTDOWN from quit; the guest's stop stays the record.
  EXPECT_EQ(call("quit").value(), Json::object());
  EXPECT_TRUE(event_names().empty());
  EXPECT_FALSE(commands_->quit_sent_shutdown());
  EXPECT_EQ(control_.stop_record()->reason, StopReason::guest_poweroff);
}

TEST_F(QmpCommands, QuitSendsShutdownAndStopsWithStatusZero) {
  start();
  EXPECT_EQ(call("quit").value(), Json::object());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].first, "SHUTDOWN");
  EXPECT_EQ(events_[0].second.dump(), R"({"guest":false,"reason":"host-qmp-quit"})");
  EXPECT_TRUE(commands_->quit_sent_shutdown());
  const auto record = control_.stop_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->reason, StopReason::user_quit);
  EXPECT_EQ(record->exit_status, 0);
  events_.clear();
  EXPECT_EQ(call("quit").value(), Json::object());
  EXPECT_TRUE(events_.empty());
}

TEST_F(QmpCommands, QuitWakesAPausedVm) {
  start();
  ASSERT_EQ(call("stop").value(), Json::object());
  EXPECT_EQ(call("quit").value(), Json::object());
  EXPECT_EQ(control_.run_state(), RunState::stopping);
  vcpu_.join();  // the parked thread saw the stop
}

TEST_F(QmpCommands, QueryName) {
  EXPECT_EQ(call("query-name").value(), Json::object());
  make_commands("web-1");
  EXPECT_EQ(call("query-name").value().dump(), R"({"name":"web-1"})");
}

TEST_F(QmpCommands, QueryCpusFastListsEveryVcpu) {
  thread_ids_ = {4242, 4243};
  const Json cpus = call("query-cpus-fast").value();
  ASSERT_EQ(cpus.size(), 2u);
  EXPECT_EQ(cpus[1].dump(),
            R"({"thread-id":4243,"props":{"core-id":1,"thread-id":0,"socket-id":0},)"
            R"("qom-path":"/machine/unattached/device[1]","cpu-index":1,"target":"x86_64"})");
  EXPECT_EQ(cpus[0]["thread-id"], 4242);
  EXPECT_EQ(cpus[0]["cpu-index"], 0);
}

TEST_F(QmpCommands, HumanMonitorOnlyKnowsInfoStatus) {
  EXPECT_EQ(call("human-monitor-command", {{"command-line", ""}}).value(), "");
  EXPECT_EQ(call("human-monitor-command", {{"command-line", "   "}}).value(), "");
  auto other = call("human-monitor-command", {{"command-line", "info  registers"}});
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().error_class, qmp::ErrorClass::generic_error);
  EXPECT_EQ(other.error().desc, "keel's human monitor supports only 'info status', not 'info registers'");
  EXPECT_FALSE(call("human-monitor-command", {{"command-line", "info status extra"}}).has_value());
  // The argument checks are QEMU's (src/qmp/command.h).
  EXPECT_EQ(call("human-monitor-command", Json::object()).error().desc, "Parameter 'command-line' is missing");
  EXPECT_EQ(call("human-monitor-command", {{"command-line", 1}}).error().desc,
            "Invalid parameter type for 'command-line', expected: string");
  EXPECT_TRUE(call("human-monitor-command", {{"command-line", "info status"}, {"cpu-index", 0}}).has_value());
  EXPECT_EQ(call("stop", {{"now", true}}).error().desc, "Parameter 'now' is unexpected");
}

TEST(ShutdownEventData, ReasonsAsQemuNamesThem) {
  const auto data = [](StopReason reason, int status, bool quit) {
    return shutdown_event_data(StopRecord{reason, status, {}}, quit).dump();
  };
  EXPECT_EQ(data(StopReason::guest_poweroff, 0, false), R"({"guest":true,"reason":"guest-shutdown"})");
  EXPECT_EQ(data(StopReason::debug_exit, 3, false), R"({"guest":true,"reason":"guest-shutdown"})");
  EXPECT_EQ(data(StopReason::guest_reset, 0, false), R"({"guest":true,"reason":"guest-reset"})");
  EXPECT_EQ(data(StopReason::user_quit, kExitSigint, false), R"({"guest":false,"reason":"host-signal"})");
  EXPECT_EQ(data(StopReason::user_quit, kExitSigterm, false), R"({"guest":false,"reason":"host-signal"})");
  EXPECT_EQ(data(StopReason::user_quit, 0, false), R"({"guest":false,"reason":"host-ui"})");
  EXPECT_EQ(data(StopReason::user_quit, 0, true), R"({"guest":false,"reason":"host-qmp-quit"})");
  EXPECT_EQ(data(StopReason::error, 1, false), R"({"guest":false,"reason":"host-error"})");
}

TEST(QmpStatusName, EveryRunState) {
  EXPECT_EQ(qmp_status_name(RunState::created), "prelaunch");
  EXPECT_EQ(qmp_status_name(RunState::running), "running");
  EXPECT_EQ(qmp_status_name(RunState::paused), "paused");
  EXPECT_EQ(qmp_status_name(RunState::stopping), "shutdown");
  EXPECT_EQ(qmp_status_name(RunState::stopped), "shutdown");
  EXPECT_EQ(hmp_info_status(RunState::running), "VM status: running\r\n");
}

}  // namespace
}  // namespace keel::vmm
