#include "src/vmm/qmp_reset_command.h"

#include <fmt/format.h>

#include "src/qmp/server.h"
#include "src/vmm/machine_parts.h"
#include "src/vmm/machine_reset.h"

namespace keel::vmm {

ResetCommand::ResetCommand(Reset reset, EmitEvent emit) : reset_(std::move(reset)), emit_(std::move(emit)) {}

qmp::CommandResult ResetCommand::system_reset() {
  const ResetResult result = reset_();
  switch (result.outcome) {
    case ResetOutcome::done:
      // QEMU 7.2's ShutdownCause for QMP system_reset (checked against it
      // by tests/integration/run_reset.py).
      if (emit_) emit_("RESET", qmp::Json{{"guest", false}, {"reason", "host-qmp-system-reset"}});
      return qmp::Json::object();
    case ResetOutcome::not_started:
      return qmp::generic_error("the guest has not started yet; system_reset is possible once it runs");
    case ResetOutcome::stopping:
      return qmp::generic_error("the VM is shutting down; not reset");
    case ResetOutcome::timed_out:
      return qmp::generic_error(fmt::format("vCPU {} did not pause within {} ms; the VM keeps running, not reset",
                                            result.stuck_vcpu.value_or(0),
                                            RunStateMachine::kDefaultPauseTimeout.count()));
    case ResetOutcome::failed:
      return qmp::generic_error(fmt::format("system_reset failed: {}; the VM stops",
                                            result.failed_step ? result.failed_step : "unknown error"));
  }
  return qmp::generic_error("system_reset failed");
}

void ResetCommand::register_commands(qmp::CommandRegistry& registry) {
  registry.add("system_reset", {}, [this](const qmp::Json&) { return system_reset(); });
}

void setup_system_reset(Machine& m) {
  if (!m.qmp_registry || !m.reset) return;
  Machine* machine = &m;
  auto emit = [machine](std::string_view name, const qmp::Json& data) {
    if (machine->qmp_server) machine->qmp_server->emit_event(name, data);
  };
  m.reset->command = std::make_unique<ResetCommand>([machine] { return reset_machine(*machine, ResetKind::system); },
                                                    std::move(emit));
  m.reset->command->register_commands(*m.qmp_registry);
}

}  // namespace keel::vmm
