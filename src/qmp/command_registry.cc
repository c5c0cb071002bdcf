#include "src/qmp/command_registry.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace keel::qmp {
namespace {

// QEMU's QMPCapability values; keel offers none of them (no out-of-band
// execution: every command runs in order on the one monitor).
constexpr std::string_view kKnownCapabilities[] = {"oob"};

CommandResult qmp_capabilities(const Json& arguments, CommandContext& context) {
  if (context.command_mode) {
    return std::unexpected(
        QmpError{ErrorClass::command_not_found, "Capabilities negotiation is already complete, command ignored"});
  }
  if (const auto enable = arguments.find("enable"); enable != arguments.end()) {
    std::string unavailable;
    for (size_t i = 0; i < enable->size(); ++i) {
      const Json& capability = (*enable)[i];
      const std::string parameter = fmt::format("enable[{}]", i);
      if (!capability.is_string()) return std::unexpected(invalid_type(parameter, ArgType::string));
      const auto& name = capability.get_ref<const std::string&>();
      bool known = false;
      for (std::string_view candidate : kKnownCapabilities) known = known || candidate == name;
      if (!known) return std::unexpected(invalid_value(parameter, name));
      unavailable += unavailable.empty() ? name : ", " + name;
    }
    if (!unavailable.empty()) return generic_error(fmt::format("Capability {} not available", unavailable));
  }
  context.enter_command_mode = true;
  return Json::object();
}

int parse_component(std::string_view text) {
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

VersionInfo keel_version_info() {
  const std::string_view version = KEEL_VERSION;  // "major.minor.micro"
  VersionInfo info;
  info.package = fmt::format("keel {}", version);
  int* const components[] = {&info.major, &info.minor, &info.micro};
  size_t start = 0;
  for (int* component : components) {
    const size_t dot = std::min(version.find('.', start), version.size());
    *component = parse_component(version.substr(start, dot - start));
    start = std::min(dot + 1, version.size());
  }
  return info;
}

Json version_json(const VersionInfo& version) {
  // Member order as QEMU writes it.
  return Json{{"qemu", {{"micro", version.micro}, {"minor", version.minor}, {"major", version.major}}},
              {"package", version.package}};
}

void CommandRegistry::add(Command command) {
  if (command.name.empty()) throw std::invalid_argument("QMP command without a name");
  if (!command.handler) throw std::invalid_argument(fmt::format("QMP command '{}' without a handler", command.name));
  if (find(command.name) != nullptr) {
    throw std::invalid_argument(fmt::format("QMP command '{}' registered twice", command.name));
  }
  commands_.push_back(std::move(command));
}

void CommandRegistry::add(std::string name, std::vector<ArgSpec> arguments,
                          std::function<CommandResult(const Json&)> handler) {
  if (!handler) throw std::invalid_argument(fmt::format("QMP command '{}' without a handler", name));
  add(Command{std::move(name), std::move(arguments),
              [handler = std::move(handler)](const Json& args, CommandContext&) { return handler(args); }});
}

const Command* CommandRegistry::find(std::string_view name) const noexcept {
  for (const Command& command : commands_) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::vector<std::string> CommandRegistry::names() const {
  std::vector<std::string> result;
  result.reserve(commands_.size());
  for (const Command& command : commands_) result.push_back(command.name);
  return result;
}

void add_core_commands(CommandRegistry& registry, const VersionInfo& version) {
  registry.add(Command{"qmp_capabilities", {{"enable", ArgType::array, false}}, qmp_capabilities, true});
  registry.add("query-version", {}, [version](const Json&) -> CommandResult { return version_json(version); });
  registry.add("query-commands", {}, [&registry](const Json&) -> CommandResult {
    Json list = Json::array();
    for (const std::string& name : registry.names()) list.push_back(Json{{"name", name}});
    return list;
  });
}

}  // namespace keel::qmp
