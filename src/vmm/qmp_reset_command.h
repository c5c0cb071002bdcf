// QMP `system_reset` (issue 10): an in-process reset of the whole VM
// (machine_reset.h), then the RESET event with QEMU 7.2's data
// {"guest": false, "reason": "host-qmp-system-reset"}. A paused VM stays
// paused, as in QEMU (which then reports "prelaunch" until cont; keel
// reports "paused"). Errors are GenericError with a one-line reason.
#pragma once

#include <functional>
#include <string_view>

#include "src/qmp/command_registry.h"
#include "src/vmm/system_reset.h"

namespace keel::vmm {

struct Machine;

class ResetCommand {
 public:
  using Reset = std::function<ResetResult()>;
  using EmitEvent = std::function<void(std::string_view name, const qmp::Json& data)>;

  ResetCommand(Reset reset, EmitEvent emit);

  // Runs the reset on the calling (console-loop) thread: blocks it while
  // the vCPUs park (5 s at most) and the devices and image are reset.
  qmp::CommandResult system_reset();
  // Adds system_reset (no arguments, reply {}). Handlers keep `this`.
  void register_commands(qmp::CommandRegistry& registry);

 private:
  Reset reset_;
  EmitEvent emit_;
};

// Makes the machine's ResetCommand and registers system_reset on
// m.qmp_registry. No effect without QMP or without m.reset. Call after
// setup_qmp and the devices, before any thread.
void setup_system_reset(Machine& m);

}  // namespace keel::vmm
