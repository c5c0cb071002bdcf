#include "src/vmm/qmp_commands.h"

#include <fmt/format.h>

#include "src/vmm/exit_status.h"

namespace keel::vmm {
namespace {

constexpr int kExitQmpQuit = 0;  // QEMU's quit ends with status 0

using qmp::ArgSpec;
using qmp::ArgType;
using qmp::CommandResult;
using qmp::Json;

bool is_running(RunState state) noexcept { return state == RunState::running; }

// A pause or resume the state machine would not do, in words for the client.
CommandResult refused(std::string_view what, RunState state) {
  if (state == RunState::created) return qmp::generic_error(fmt::format("cannot {}: the VM has not started yet", what));
  return qmp::generic_error(fmt::format("cannot {}: the VM is shutting down", what));
}

}  // namespace

std::string_view qmp_status_name(RunState state) noexcept {
  switch (state) {
    case RunState::created: return "prelaunch";
    case RunState::running: return "running";
    case RunState::paused: return "paused";
    case RunState::suspended: return "suspended";  // ACPI S3, as QEMU
    case RunState::stopping:
    case RunState::stopped: return "shutdown";
  }
  return "shutdown";
}

std::string hmp_info_status(RunState state) {
  // QEMU: "VM status: running" or "VM status: paused", then " (STATE)" when
  // stopped for another reason than a pause.
  if (is_running(state)) return "VM status: running\r\n";
  if (state == RunState::paused) return "VM status: paused\r\n";
  return fmt::format("VM status: paused ({})\r\n", qmp_status_name(state));
}

Json shutdown_event_data(const StopRecord& stop, bool qmp_quit) {
  bool guest = true;
  std::string_view reason = "guest-shutdown";
  switch (stop.reason) {
    case StopReason::debug_exit:      // QEMU's isa-debug-exit ends without an event; a client still wants to know
    case StopReason::guest_poweroff: break;
    case StopReason::guest_reset: reason = "guest-reset"; break;  // keel ends on a reset, like QEMU -no-reboot
    case StopReason::user_quit:
      guest = false;
      if (qmp_quit) {
        reason = "host-qmp-quit";
      } else if (stop.exit_status == kExitSigint || stop.exit_status == kExitSigterm) {
        reason = "host-signal";
      } else {
        reason = "host-ui";  // Ctrl-A x on the console
      }
      break;
    case StopReason::error:
      guest = false;
      reason = "host-error";
      break;
  }
  return Json{{"guest", guest}, {"reason", reason}};
}

VmCommands::VmCommands(MachineControl& control, EmitEvent emit, ThreadIds vcpu_thread_ids, std::string name)
    : control_(control), emit_(std::move(emit)), vcpu_thread_ids_(std::move(vcpu_thread_ids)), name_(std::move(name)) {}

void VmCommands::register_commands(qmp::CommandRegistry& registry) {
  registry.add("query-status", {}, [this](const Json&) { return query_status(); });
  registry.add("stop", {}, [this](const Json&) { return stop(); });
  registry.add("cont", {}, [this](const Json&) { return cont(); });
  registry.add("quit", {}, [this](const Json&) { return quit(); });
  registry.add("query-name", {}, [this](const Json&) -> CommandResult {
    if (name_.empty()) return Json::object();
    return Json{{"name", name_}};
  });
  registry.add("query-cpus-fast", {}, [this](const Json&) { return query_cpus_fast(); });
  registry.add("human-monitor-command",
               {ArgSpec{.name = "command-line", .type = ArgType::string, .required = true},
                ArgSpec{.name = "cpu-index", .type = ArgType::integer, .required = false}},
               [this](const Json& arguments) { return human_monitor_command(arguments); });
}

CommandResult VmCommands::query_status() const {
  const RunState state = control_.run_state();
  return Json{{"status", qmp_status_name(state)}, {"singlestep", false}, {"running", is_running(state)}};
}

// Runs on the console loop and blocks it until every vCPU is parked (at
// most RunStateMachine::kDefaultPauseTimeout, 5 s, for a vCPU stuck in a
// device handler): console input waits that long at worst. Ctrl-A x and
// signals do not: a stop ends a waiting pause at once.
CommandResult VmCommands::stop() {
  const LifecycleResult result = control_.pause();
  switch (result.outcome) {
    case LifecycleOutcome::done:
      emit_("STOP", Json());
      return Json::object();
    case LifecycleOutcome::already:  // QEMU: no event when already stopped
      return Json::object();
    case LifecycleOutcome::timed_out:
      return qmp::generic_error(fmt::format("vCPU {} did not pause within {} ms; the VM keeps running",
                                            result.stuck_vcpu.value_or(0),
                                            RunStateMachine::kDefaultPauseTimeout.count()));
    case LifecycleOutcome::refused: break;
  }
  return refused("stop", result.state);
}

CommandResult VmCommands::cont() {
  const LifecycleResult result = control_.resume();
  switch (result.outcome) {
    case LifecycleOutcome::done:
      emit_("RESUME", Json());
      return Json::object();
    case LifecycleOutcome::already:  // QEMU: cont on a running VM is silent
      return Json::object();
    case LifecycleOutcome::timed_out:
    case LifecycleOutcome::refused: break;
  }
  return refused("cont", result.state);
}

// As QEMU 7.2 does on the wire: the SHUTDOWN event, then the {} reply, then
// keel exits with status 0. The reply still goes out: the main thread's
// teardown stops this loop only after the running handler (and the reply it
// queues and sends) is done. The main thread sends no second SHUTDOWN
// (emit_shutdown_event checks quit_sent_shutdown()).
CommandResult VmCommands::quit() {
  // Not when the VM is stopping for another reason already: the main
  // thread sends that stop's SHUTDOWN.
  if (!control_.stop_requested() && !quit_sent_shutdown_.exchange(true, std::memory_order_acq_rel)) {
    emit_("SHUTDOWN", Json{{"guest", false}, {"reason", "host-qmp-quit"}});
  }
  control_.request_stop(StopReason::user_quit, kExitQmpQuit);
  return Json::object();
}

CommandResult VmCommands::query_cpus_fast() const {
  const std::vector<int> thread_ids = vcpu_thread_ids_();
  Json cpus = Json::array();
  for (size_t index = 0; index < thread_ids.size(); ++index) {
    // keel's topology (kvm::patch_cpuid): one package of N cores, one thread each.
    Json props{{"core-id", index}, {"thread-id", 0}, {"socket-id", 0}};
    cpus.push_back(Json{{"thread-id", thread_ids[index]},
                        {"props", std::move(props)},
                        {"qom-path", fmt::format("/machine/unattached/device[{}]", index)},
                        {"cpu-index", index},
                        {"target", "x86_64"}});
  }
  return cpus;
}

// QEMU's HMP behind QMP. keel has only `info status`; anything else is an
// error rather than QEMU's "unknown command" text, so a script notices.
CommandResult VmCommands::human_monitor_command(const Json& arguments) const {
  std::string line = arguments.at("command-line").get<std::string>();
  const auto not_space = line.find_first_not_of(" \t");
  line.erase(0, not_space == std::string::npos ? line.size() : not_space);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
  if (line.empty()) return Json("");  // QEMU: an empty line prints nothing
  std::string collapsed;
  for (char c : line) {
    if ((c == ' ' || c == '\t') && !collapsed.empty() && collapsed.back() == ' ') continue;
    collapsed.push_back(c == '\t' ? ' ' : c);
  }
  if (collapsed == "info status") return Json(hmp_info_status(control_.run_state()));
  return qmp::generic_error(fmt::format("keel's human monitor supports only 'info status', not '{}'", collapsed));
}

}  // namespace keel::vmm
