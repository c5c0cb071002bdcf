// Name -> command. The VM side (a later slice) adds its commands here before
// the server starts; afterwards the registry is only read, from the thread
// that serves QMP, so it needs no lock.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/qmp/command.h"

namespace keel::qmp {

// What query-version and the greeting report.
struct VersionInfo {
  int major = 0;
  int minor = 0;
  int micro = 0;
  std::string package;  // "keel 0.1.0"
};

// keel's own version (KEEL_VERSION, from the build), package "keel X.Y.Z".
VersionInfo keel_version_info();

Json version_json(const VersionInfo& version);

class CommandRegistry {
 public:
  CommandRegistry() = default;
  // query-commands keeps a pointer to the registry: it never moves.
  CommandRegistry(const CommandRegistry&) = delete;
  CommandRegistry& operator=(const CommandRegistry&) = delete;

  // Throws std::invalid_argument for an empty or already registered name or
  // a missing handler: these are programming errors found at start-up.
  void add(Command command);
  // The usual case: a handler that does not care about the session.
  void add(std::string name, std::vector<ArgSpec> arguments, std::function<CommandResult(const Json&)> handler);

  const Command* find(std::string_view name) const noexcept;
  // Names in registration order.
  std::vector<std::string> names() const;

 private:
  std::vector<Command> commands_;  // a few dozen: a linear search is fine
};

// The commands of the protocol itself: qmp_capabilities (no capability is
// offered, so `enable` must be empty), query-version and query-commands.
void add_core_commands(CommandRegistry& registry, const VersionInfo& version);

}  // namespace keel::qmp
