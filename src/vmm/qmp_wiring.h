// QMP on a machine (--qmp / --qmp-fd): the server on the console loop, the
// VM commands (qmp_commands.h), waiting for the first client (wait=on), and
// the SHUTDOWN event once the VM stops. machine_builder.cc and machine.cc
// call these; the server itself is src/qmp.
#pragma once

#include "src/vmm/machine_config.h"
#include "src/vmm/machine_parts.h"

namespace keel::vmm {

// Opens the listening socket (ConfigError on a bad path or one in use) and
// adopts --qmp-fd's socket; registers both on m.console_loop. Needs
// m.console_loop. No effect without --qmp / --qmp-fd.
void setup_qmp(Machine& m, const MachineConfig& config);

// wait=on: blocks the calling (main) thread until a client connects to the
// QMP socket, or SIGINT/SIGTERM arrives (then a user_quit stop is requested
// and this returns). Call before the console loop starts, which accepts it.
void wait_for_qmp_client(Machine& m, const MachineConfig& config);

// Sends SHUTDOWN ({"guest", "reason"} as QEMU) to a client in command mode.
void emit_shutdown_event(Machine& m, const StopRecord& stop) noexcept;

}  // namespace keel::vmm
