// The VM's QMP commands (issue 10): what src/qmp's protocol core serves on
// top of the run-state machine (run_state.h, MachineControl). Registered
// into a CommandRegistry before the server starts; the handlers run on the
// thread that serves QMP (keel's console loop) and emit STOP / RESUME
// through the server. The wording and field order follow QEMU 7.2.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/qmp/command_registry.h"
#include "src/vmm/vm_control.h"

namespace keel::vmm {

// QEMU's RunState name for query-status: created -> "prelaunch", running,
// paused, stopping/stopped -> "shutdown".
std::string_view qmp_status_name(RunState state) noexcept;

// "VM status: running\r\n" and the rest of HMP's `info status` (QEMU's
// monitor turns "\n" into "\r\n").
std::string hmp_info_status(RunState state);

// The SHUTDOWN event's data for how the VM stopped: {"guest": bool,
// "reason": QEMU's ShutdownCause name}. `qmp_quit`: the stop came from QMP's
// quit (host-qmp-quit); a user_quit with status 130/143 is a signal
// (host-signal); any other user_quit is Ctrl-A x (host-ui).
qmp::Json shutdown_event_data(const StopRecord& stop, bool qmp_quit);

class VmCommands {
 public:
  using EmitEvent = std::function<void(std::string_view name, const qmp::Json& data)>;
  using ThreadIds = std::function<std::vector<int>()>;

  // `control` must outlive this object. `emit` sends an event to the
  // client. `vcpu_thread_ids`: the host thread id of each vCPU (0: not
  // started yet).
  VmCommands(MachineControl& control, EmitEvent emit, ThreadIds vcpu_thread_ids, std::string name);

  // Adds query-status, stop, cont, quit, query-name, query-cpus-fast and
  // human-monitor-command. Handlers keep `this`: it must outlive `registry`'s use.
  void register_commands(qmp::CommandRegistry& registry);

  // True once QMP's quit sent SHUTDOWN itself (before its reply, as QEMU).
  bool quit_sent_shutdown() const noexcept { return quit_sent_shutdown_.load(std::memory_order_acquire); }

 private:
  qmp::CommandResult query_status() const;
  qmp::CommandResult stop();
  qmp::CommandResult cont();
  qmp::CommandResult quit();
  qmp::CommandResult query_cpus_fast() const;
  qmp::CommandResult human_monitor_command(const qmp::Json& arguments) const;

  MachineControl& control_;
  EmitEvent emit_;
  ThreadIds vcpu_thread_ids_;
  std::string name_;
  std::atomic<bool> quit_sent_shutdown_{false};
};

}  // namespace keel::vmm
