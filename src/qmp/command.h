// What a QMP command is to keel: a name, the arguments it takes (checked
// before the handler runs, with QEMU's error wording) and a handler that
// returns a result or an error. The handler sees only checked arguments, so
// it stays a few lines long.
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel::qmp {

// Insertion-ordered, so a client's `id` comes back exactly as it was sent
// and replies keep their members in the order QEMU writes them.
using Json = nlohmann::ordered_json;

// QMP's error classes keel uses (QEMU's others are for devices keel lacks).
enum class ErrorClass { generic_error, command_not_found, device_not_found };

struct QmpError {
  ErrorClass error_class = ErrorClass::generic_error;
  std::string desc;
};

using CommandResult = std::expected<Json, QmpError>;

[[nodiscard]] inline std::unexpected<QmpError> generic_error(std::string desc) {
  return std::unexpected(QmpError{ErrorClass::generic_error, std::move(desc)});
}

const char* error_class_name(ErrorClass error_class) noexcept;

// The JSON types QEMU's input visitor names in "expected: TYPE".
enum class ArgType { string, boolean, integer, number, object, array, any };

struct ArgSpec {
  std::string name;
  ArgType type = ArgType::any;
  bool required = true;
};

// Checks `arguments` (an object) against `specs` as QEMU 7.2 does: members
// not in `specs` -> "Parameter 'x' is unexpected"; a missing required one ->
// "Parameter 'x' is missing"; a wrong type -> "Invalid parameter type for
// 'x', expected: integer".
std::optional<QmpError> check_arguments(const Json& arguments, std::span<const ArgSpec> specs);

// The same wording for handlers that check inside a member (list elements,
// enum values, ranges).
QmpError invalid_type(std::string_view parameter, ArgType expected);
QmpError invalid_value(std::string_view parameter, std::string_view value);

// The session a command runs in. qmp_capabilities is an ordinary command
// that ends negotiation through this; other handlers may ignore it.
struct CommandContext {
  bool command_mode = false;        // capabilities negotiation is over
  bool enter_command_mode = false;  // set by qmp_capabilities on success
};

using Handler = std::function<CommandResult(const Json& arguments, CommandContext& context)>;

struct Command {
  std::string name;
  std::vector<ArgSpec> arguments;
  Handler handler;
  // Callable before qmp_capabilities (only qmp_capabilities itself is).
  bool allowed_in_negotiation = false;
};

}  // namespace keel::qmp
