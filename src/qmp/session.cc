#include "src/qmp/session.h"

#include <exception>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace keel::qmp {
namespace {

// Client text can end up in error descriptions; keep them one short line.
constexpr size_t kMaxEchoedText = 200;

void append_wire_text(std::string& out, const Json& value) {
  if (value.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [key, member] : value.items()) {
      if (!first) out += ", ";
      first = false;
      out += Json(key).dump(-1, ' ', true, Json::error_handler_t::replace);
      out += ": ";
      append_wire_text(out, member);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    for (size_t i = 0; i < value.size(); ++i) {
      if (i != 0) out += ", ";
      append_wire_text(out, value[i]);
    }
    out += ']';
  } else {
    out += value.dump(-1, ' ', true, Json::error_handler_t::replace);
  }
}

std::string line(const Json& value) {
  std::string text = to_wire_text(value);
  text += '\n';
  return text;
}

std::string error_line(const Json* id, const QmpError& error) {
  Json reply = Json::object();
  if (id != nullptr) reply["id"] = *id;  // QEMU puts the id first in errors
  reply["error"] = Json{{"class", error_class_name(error.error_class)}, {"desc", error.desc}};
  return line(reply);
}

std::string return_line(const Json* id, Json result) {
  Json reply{{"return", std::move(result)}};
  if (id != nullptr) reply["id"] = *id;
  return line(reply);
}

// nlohmann's message without its prefix ("[json.exception.parse_error.101]
// parse error at line 1, column 5: "), after QEMU's "JSON parse error, ".
std::string parse_error_text(const std::exception& error) {
  std::string_view detail = error.what();
  if (const size_t colon = detail.find(": "); colon != std::string_view::npos) detail.remove_prefix(colon + 2);
  if (detail.size() > kMaxEchoedText) detail = detail.substr(0, kMaxEchoedText);
  return fmt::format("JSON parse error, {}", detail);
}

}  // namespace

std::string to_wire_text(const Json& value) {
  std::string out;
  append_wire_text(out, value);
  return out;
}

std::string format_event(std::string_view name, const Json& data, std::chrono::nanoseconds realtime) {
  using namespace std::chrono;
  const auto seconds = duration_cast<std::chrono::seconds>(realtime);
  const auto micros = duration_cast<microseconds>(realtime - seconds);
  Json event{{"timestamp", {{"seconds", seconds.count()}, {"microseconds", micros.count()}}}, {"event", name}};
  if (!data.is_null()) event["data"] = data;
  return line(event);
}

std::string Session::greeting() const {
  return line(Json{{"QMP", {{"version", version_json(version_)}, {"capabilities", Json::array()}}}});
}

std::string Session::handle(const Frame& frame) {
  if (frame.kind == Frame::Kind::error) return error_line(nullptr, {ErrorClass::generic_error, frame.text});
  Json request;
  try {
    request = Json::parse(frame.text);
  } catch (const Json::parse_error& error) {
    return error_line(nullptr, {ErrorClass::generic_error, parse_error_text(error)});
  }
  if (!request.is_object()) return error_line(nullptr, {ErrorClass::generic_error, "QMP input must be a JSON object"});
  const auto id_member = request.find("id");
  const Json* id = id_member == request.end() ? nullptr : &*id_member;
  CommandResult result = dispatch(request);
  if (!result) return error_line(id, result.error());
  return return_line(id, std::move(*result));
}

CommandResult Session::dispatch(const Json& request) {
  const std::string* name = nullptr;
  for (const auto& [key, value] : request.items()) {
    if (key == "execute") {
      if (!value.is_string()) return generic_error("QMP input member 'execute' must be a string");
      name = &value.get_ref<const std::string&>();
    } else if (key == "arguments") {
      if (!value.is_object()) return generic_error("QMP input member 'arguments' must be an object");
    } else if (key != "id") {
      // exec-oob lands here too: keel offers no out-of-band execution.
      return generic_error(fmt::format("QMP input member '{}' is unexpected", key.substr(0, kMaxEchoedText)));
    }
  }
  if (name == nullptr) return generic_error("QMP input lacks member 'execute'");

  const Command* command = registry_.find(*name);
  if (!command_mode_ && (command == nullptr || !command->allowed_in_negotiation)) {
    return std::unexpected(
        QmpError{ErrorClass::command_not_found, "Expecting capabilities negotiation with 'qmp_capabilities'"});
  }
  if (command == nullptr) {
    return std::unexpected(QmpError{ErrorClass::command_not_found,
                                    fmt::format("The command {} has not been found", name->substr(0, kMaxEchoedText))});
  }

  static const Json kNoArguments = Json::object();
  const auto arguments_member = request.find("arguments");
  const Json& arguments = arguments_member == request.end() ? kNoArguments : *arguments_member;
  if (auto error = check_arguments(arguments, command->arguments)) return std::unexpected(std::move(*error));

  CommandContext context{.command_mode = command_mode_};
  CommandResult result;
  try {
    result = command->handler(arguments, context);
  } catch (const std::exception& error) {
    // A handler bug must not end the session; say which command failed.
    spdlog::error("QMP command {} failed: {}", command->name, error.what());
    return generic_error(fmt::format("Command {} failed: {}", command->name, error.what()));
  }
  if (result && context.enter_command_mode) command_mode_ = true;
  return result;
}

}  // namespace keel::qmp
