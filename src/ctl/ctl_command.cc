#include "src/ctl/ctl_command.h"

#include <exception>
#include <stdexcept>
#include <optional>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/ctl/key_combos.h"
#include "src/ctl/qmp_client.h"
#include "src/harness/duration.h"
#include "src/stats/stats_report.h"

namespace keel::ctl {
namespace {

struct CommandSpec {
  const char* name;
  const char* qmp_command;
  const char* help;
};

constexpr CommandSpec kCommands[] = {
    {"status", "query-status", "Print the run state: running, paused, shutdown, ..."},
    {"pause", "stop", "Pause the vCPUs"},
    {"resume", "cont", "Resume the vCPUs"},
    {"powerdown", "system_powerdown", "Press the ACPI power button (the guest decides to power off)"},
    {"reset", "system_reset", "Reset the machine"},
    {"quit", "quit", "Stop the VM now"},
    {"send-key", "send-key", "Type keys: ctrl-alt-delete,a,shift-b (combos by commas, '-' holds keys together)"},
    {"stats", "x-keel-stats", "Print keel's exit statistics"},
};

const CommandSpec* find_command(std::string_view name) {
  for (const CommandSpec& spec : kCommands) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// Plain output: status prints the state word; stats the sorted table
// (src/stats); the actions print nothing (the exit status tells);
// anything else prints what came back.
void print_plain(const CommandSpec& spec, const Json& value, std::FILE* out) {
  if (std::string_view(spec.name) == "stats") {
    StatsSnapshot snapshot;
    try {
      snapshot = stats::from_json(value);
    } catch (const std::invalid_argument& e) {
      throw CtlFailure(kExitVmError, e.what());  // not keel's x-keel-stats shape
    }
    fmt::print(out, "{}", stats::format_table(snapshot));
  } else if (std::string_view(spec.name) == "status" && value.is_object() && value.contains("status") &&
      value["status"].is_string()) {
    fmt::print(out, "{}\n", value["status"].get<std::string>());
  } else if (value.is_string()) {
    fmt::print(out, "{}\n", value.get<std::string>());
  } else if (!(value.is_object() && value.empty())) {
    fmt::print(out, "{}\n", value.dump(2));
  }
}

// powerdown --hard-stop-after: the button was pressed; wait for the VM to
// stop (SHUTDOWN, or the socket closing as it exits), else quit. The wait
// has its own budget; the quit gets a fresh --timeout.
int stop_unless_powered_off(QmpClient& client, std::chrono::nanoseconds wait, std::chrono::nanoseconds timeout,
                            std::FILE* err) {
  const auto waited = std::chrono::duration_cast<SteadyClock::duration>(wait);
  if (client.wait_for_shutdown(SteadyClock::now() + waited)) return kExitOk;
  const std::string after = harness::format_duration(wait);
  QmpReply reply;
  try {
    reply = client.execute("quit", Json(), SteadyClock::now() + timeout);
  } catch (const CtlFailure&) {
    if (!client.peer_closed()) throw;
    fmt::print(err, "keel ctl: the VM did not power off within {}; it exited as quit was sent\n", after);
    return kExitHardStop;
  }
  if (!reply.ok) throw CtlFailure(kExitVmError, fmt::format("quit: {}: {}", reply.error_class, reply.error_desc));
  fmt::print(err, "keel ctl: the VM did not power off within {}; stopped it with quit\n", after);
  return kExitHardStop;
}

int run(const CtlOptions& options, std::FILE* out, std::FILE* err) {
  const CommandSpec* spec = find_command(options.command);
  if (spec == nullptr) {
    throw CtlFailure(kExitUsage, fmt::format("unknown command '{}' (expected status, pause, resume, powerdown, "
                                             "reset, quit, send-key or stats)",
                                             options.command));
  }
  std::chrono::nanoseconds timeout;
  try {
    timeout = harness::parse_duration(options.timeout, "--timeout");
  } catch (const ConfigError& e) {
    throw CtlFailure(kExitUsage, e.what());
  }
  std::optional<std::chrono::nanoseconds> hard_stop_after;
  if (!options.hard_stop_after.empty()) {
    try {
      hard_stop_after = harness::parse_duration(options.hard_stop_after, "--hard-stop-after");
    } catch (const ConfigError& e) {
      throw CtlFailure(kExitUsage, e.what());
    }
  }
  // Each send-key combo is one QMP command, sent in turn (as HMP's sendkey).
  std::vector<Json> arguments;
  if (std::string_view(spec->name) == "send-key") {
    for (Json& keys : parse_key_combos(options.keys)) arguments.push_back(Json{{"keys", std::move(keys)}});
  } else {
    arguments.emplace_back();
  }

  const SteadyClock::time_point deadline = SteadyClock::now() + timeout;
  QmpClient client = [&] {
    try {
      return QmpClient::connect(options.qmp_path, deadline);
    } catch (const CtlFailure& e) {
      if (!e.timed_out()) throw;
      throw CtlFailure(e.status(), fmt::format("{} (--timeout {})", e.what(), harness::format_duration(timeout)));
    }
  }();
  QmpReply reply;
  for (const Json& argument : arguments) {
    try {
      reply = client.execute(spec->qmp_command, argument, deadline);
    } catch (const CtlFailure& e) {
      if (!e.timed_out()) throw;
      throw CtlFailure(e.status(), fmt::format("{} (--timeout {})", e.what(), harness::format_duration(timeout)));
    }
    if (!reply.ok) throw CtlFailure(kExitVmError, fmt::format("{}: {}", reply.error_class, reply.error_desc));
  }
  if (options.json) {
    fmt::print(out, "{}\n", reply.value.dump());
  } else {
    print_plain(*spec, reply.value, out);
  }
  std::fflush(out);
  if (hard_stop_after && std::string_view(spec->name) == "powerdown") {
    return stop_unless_powered_off(client, *hard_stop_after, timeout, err);
  }
  return kExitOk;
}

}  // namespace

CLI::App* add_ctl_subcommand(CLI::App& app, CtlOptions& options) {
  CLI::App* ctl = app.add_subcommand("ctl", "Control a running VM through its QMP socket (keel or QEMU)");
  ctl->add_option("--qmp", options.qmp_path, "The VM's QMP unix socket (keel run --qmp / QEMU -qmp)")
      ->type_name("PATH")
      ->required();
  ctl->add_flag("--json", options.json, "Print the reply's `return` value as one line of JSON");
  ctl->add_option("--timeout", options.timeout, "Give up after 500ms, 10s, 1m, ... (the whole exchange)")
      ->type_name("DURATION")
      ->capture_default_str();
  ctl->require_subcommand(1);
  ctl->fallthrough();  // `keel ctl status --qmp PATH` works too
  ctl->footer(
      "Exit status: 0 done; 1 the VM answered an error (printed as 'keel ctl: CLASS: DESC'); 2 bad usage; "
      "3 the VM cannot be reached (no socket, connection lost, timeout, not a QMP peer); 4 powerdown "
      "--hard-stop-after: the VM did not power off in time and was stopped with quit.");
  for (const CommandSpec& spec : kCommands) {
    CLI::App* command = ctl->add_subcommand(spec.name, spec.help);
    const std::string name = spec.name;
    command->callback([&options, name] { options.command = name; });
    if (name == "powerdown") {
      // Not --timeout: that is ctl's own bound on talking to the VM, and
      // `ctl --timeout 5s powerdown` must not mean something else than
      // `ctl powerdown --timeout 5s` (fallthrough accepts both).
      command
          ->add_option("--hard-stop-after", options.hard_stop_after,
                       "If the VM has not stopped this long after the press (10s, 1m, ...), send quit; exit 4")
          ->type_name("DURATION");
    }
    if (name == "send-key") {
      command->add_option("KEYS", options.keys, "Keys: ctrl-alt-delete,a,ret or 0x1c (a scancode)")->required();
    }
  }
  return ctl;
}

int run_ctl(const CtlOptions& options, std::FILE* out, std::FILE* err) noexcept {
  int status = kExitUnreachable;
  std::string message;
  try {
    return run(options, out, err);
  } catch (const CtlFailure& e) {
    status = e.status();
    message = one_line(e.what());
  } catch (const std::exception& e) {  // out of memory, stdout gone
    message = one_line(e.what());
  }
  try {
    fmt::print(err, "keel ctl: {}\n", message);
  } catch (...) {  // stderr gone too: the status still tells
  }
  return status;
}

}  // namespace keel::ctl
