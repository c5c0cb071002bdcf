// `keel ctl`: the subcommand's options (registered on the `keel` CLI11 app
// by src/cli) and running it against a VM's QMP socket.
#pragma once

#include <cstdio>
#include <string>

#include "src/ctl/exit_status.h"

namespace CLI {
class App;
}

namespace keel::ctl {

struct CtlOptions {
  std::string qmp_path;
  bool json = false;          // print the `return` value as JSON
  std::string timeout = "10s";
  std::string command;        // status, pause, resume, powerdown, reset, quit, send-key, stats
  std::string keys;           // send-key's KEYS
  // powerdown: if the VM has not stopped this long after system_powerdown,
  // send quit (empty: just press the button and return).
  std::string hard_stop_after;
};

// Adds `ctl` and its commands to `app`; parsing fills `options` (which must
// outlive the parse). Returns the `ctl` subcommand.
CLI::App* add_ctl_subcommand(CLI::App& app, CtlOptions& options);

// Connects, runs the command, prints its result on `out` and any error as
// one line "keel ctl: ..." on `err`. Returns the exit status (kExit* in
// exit_status.h): 0, 1 the VM answered an error, 2 bad usage, 3 the VM
// cannot be reached (no socket, connection lost, timeout, not QMP), 4
// powerdown --hard-stop-after had to send quit.
int run_ctl(const CtlOptions& options, std::FILE* out, std::FILE* err) noexcept;

}  // namespace keel::ctl
