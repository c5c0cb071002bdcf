#include "src/qmp/command.h"

#include <fmt/format.h>

namespace keel::qmp {
namespace {

const char* type_name(ArgType type) noexcept {
  switch (type) {
    case ArgType::string: return "string";
    case ArgType::boolean: return "boolean";
    case ArgType::integer: return "integer";
    case ArgType::number: return "number";
    case ArgType::object: return "object";
    case ArgType::array: return "array";
    case ArgType::any: return "any";
  }
  return "any";
}

bool has_type(const Json& value, ArgType type) noexcept {
  switch (type) {
    case ArgType::string: return value.is_string();
    case ArgType::boolean: return value.is_boolean();
    // 1.0 is a number but not an integer, as in QEMU.
    case ArgType::integer: return value.is_number_integer();
    case ArgType::number: return value.is_number();
    case ArgType::object: return value.is_object();
    case ArgType::array: return value.is_array();
    case ArgType::any: return true;
  }
  return false;
}

}  // namespace

const char* error_class_name(ErrorClass error_class) noexcept {
  switch (error_class) {
    case ErrorClass::command_not_found: return "CommandNotFound";
    case ErrorClass::device_not_found: return "DeviceNotFound";
    case ErrorClass::generic_error: break;
  }
  return "GenericError";
}

QmpError invalid_type(std::string_view parameter, ArgType expected) {
  return {ErrorClass::generic_error,
          fmt::format("Invalid parameter type for '{}', expected: {}", parameter, type_name(expected))};
}

QmpError invalid_value(std::string_view parameter, std::string_view value) {
  return {ErrorClass::generic_error, fmt::format("Parameter '{}' does not accept value '{}'", parameter, value)};
}

std::optional<QmpError> check_arguments(const Json& arguments, std::span<const ArgSpec> specs) {
  // QEMU's order: the declared parameters one by one, then the leftovers.
  for (const ArgSpec& spec : specs) {
    const auto member = arguments.find(spec.name);
    if (member == arguments.end()) {
      if (!spec.required) continue;
      return QmpError{ErrorClass::generic_error, fmt::format("Parameter '{}' is missing", spec.name)};
    }
    if (!has_type(*member, spec.type)) return invalid_type(spec.name, spec.type);
  }
  for (const auto& [name, value] : arguments.items()) {
    bool declared = false;
    for (const ArgSpec& spec : specs) declared = declared || spec.name == name;
    if (!declared) return QmpError{ErrorClass::generic_error, fmt::format("Parameter '{}' is unexpected", name)};
  }
  return std::nullopt;
}

}  // namespace keel::qmp
