// Fuzz target: the QMP protocol core (src/qmp): a client's byte stream cut
// into reads of any size, through the JsonFramer (limits chosen by the
// input, so the size and depth limits are reached), each frame answered by
// a Session over the core commands plus test commands that take every
// argument type, one whose handler throws and one that checks inside a list.
//
// Input: [max value bytes u16][max depth u8] then reads: [length u8][bytes].
//
// Invariants, beyond "no crash":
//  - the framer never holds more than its value limit, and yields at most
//    one frame per byte fed;
//  - every frame gets exactly one reply: one line, '\n'-terminated, that
//    parses as a JSON object with exactly one of "return" or "error"; an
//    error has a class QMP defines (GenericError, CommandNotFound) and a
//    non-empty string desc;
//  - a request that is a JSON object with an "id" gets that id back
//    unchanged; any other frame's reply has no id;
//  - command mode starts only with a successful qmp_capabilities, and
//    before it nothing but qmp_capabilities succeeds;
//  - the echo command returns exactly the arguments it was given.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "src/qmp/command_registry.h"
#include "src/qmp/json_framer.h"
#include "src/qmp/session.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using keel::fuzz::FuzzInput;
using keel::qmp::ArgSpec;
using keel::qmp::ArgType;
using keel::qmp::CommandRegistry;
using keel::qmp::Frame;
using keel::qmp::Json;
using keel::qmp::JsonFramer;
using keel::qmp::Session;

void add_test_commands(CommandRegistry& registry) {
  registry.add("x-echo",
               {{"s", ArgType::string, false},
                {"b", ArgType::boolean, false},
                {"i", ArgType::integer, false},
                {"n", ArgType::number, false},
                {"o", ArgType::object, false},
                {"a", ArgType::array, false},
                {"any", ArgType::any, false},
                {"must", ArgType::integer, true}},
               [](const Json& arguments) -> keel::qmp::CommandResult { return arguments; });
  registry.add("x-throw", {}, [](const Json&) -> keel::qmp::CommandResult {
    throw std::runtime_error("handler failure");
  });
  registry.add("x-keys", {{"keys", ArgType::array, true}}, [](const Json& arguments) -> keel::qmp::CommandResult {
    for (const Json& key : arguments.at("keys")) {
      if (!key.is_string()) return std::unexpected(keel::qmp::invalid_type("keys", ArgType::string));
      if (key.get_ref<const std::string&>().size() > 8) {
        return std::unexpected(keel::qmp::invalid_value("keys", key.get_ref<const std::string&>()));
      }
    }
    return Json::object();
  });
}

const CommandRegistry& registry() {
  static const CommandRegistry* instance = [] {
    spdlog::set_level(spdlog::level::off);  // x-throw's failure line, once per execution
    auto* built = new CommandRegistry();
    keel::qmp::add_core_commands(*built, keel::qmp::keel_version_info());
    add_test_commands(*built);
    return built;
  }();
  return *instance;
}

// The request as the session will see it, if the frame is a JSON object.
std::optional<Json> parsed_object(const Frame& frame) {
  if (frame.kind != Frame::Kind::value) return std::nullopt;
  Json value = Json::parse(frame.text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

void check_reply(const Frame& frame, const std::string& line, Session& session, bool was_command_mode) {
  FUZZ_CHECK(!line.empty() && line.back() == '\n', "a reply is one '\\n'-terminated line");
  FUZZ_CHECK(line.find('\n') == line.size() - 1, "a reply has no newline inside");
  const Json reply = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!reply.is_discarded() && reply.is_object(), "a reply is a JSON object");
  const bool has_return = reply.contains("return");
  const bool has_error = reply.contains("error");
  FUZZ_CHECK(has_return != has_error, "a reply has exactly one of return and error");
  if (has_error) {
    const Json& error = reply["error"];
    FUZZ_CHECK(error.is_object() && error.contains("class") && error.contains("desc"), "error has class and desc");
    FUZZ_CHECK(error["class"] == "GenericError" || error["class"] == "CommandNotFound", "error class is QMP's");
    FUZZ_CHECK(error["desc"].is_string() && !error["desc"].get_ref<const std::string&>().empty(), "desc is text");
  }

  const std::optional<Json> request = parsed_object(frame);
  if (request && request->contains("id")) {
    FUZZ_CHECK(reply.contains("id") && reply["id"] == (*request)["id"], "the request's id comes back unchanged");
  } else {
    FUZZ_CHECK(!reply.contains("id"), "no id without one in the request");
  }

  const bool capabilities_request =
      request && request->contains("execute") && (*request)["execute"] == "qmp_capabilities";
  if (!was_command_mode) {
    FUZZ_CHECK(!has_return || capabilities_request, "only qmp_capabilities succeeds before negotiation ends");
    FUZZ_CHECK(session.command_mode() == (has_return && capabilities_request),
               "command mode starts exactly with a successful qmp_capabilities");
  } else {
    FUZZ_CHECK(session.command_mode(), "command mode never ends");
  }
  if (has_return && request && (*request)["execute"] == "x-echo") {
    const Json arguments = request->contains("arguments") ? (*request)["arguments"] : Json::object();
    FUZZ_CHECK(reply["return"] == arguments, "x-echo returns its arguments");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const size_t max_value_bytes = static_cast<size_t>(in.range(16, 4096));
  const size_t max_depth = static_cast<size_t>(in.range(1, 64));
  JsonFramer framer(max_value_bytes, max_depth);
  Session session(registry(), keel::qmp::keel_version_info());

  const Json greeting = Json::parse(session.greeting(), nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(greeting.is_object() && greeting.contains("QMP"), "the greeting is a QMP object");

  size_t bytes_fed = 0;
  size_t frames = 0;
  while (!in.empty()) {
    const size_t length = static_cast<size_t>(in.range(1, 255));
    const auto chunk = in.bytes(length);
    framer.feed(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()));
    bytes_fed += chunk.size();
    while (std::optional<Frame> frame = framer.next()) {
      ++frames;
      FUZZ_CHECK(frames <= bytes_fed, "at most one frame per byte fed");
      const bool was_command_mode = session.command_mode();
      const std::string line = session.handle(*frame);
      check_reply(*frame, line, session, was_command_mode);
    }
    FUZZ_CHECK(!framer.has_unscanned_input(), "next() scans everything fed");
    FUZZ_CHECK(framer.pending_value_bytes() <= max_value_bytes, "a pending value stays within the limit");
  }
  return 0;
}
