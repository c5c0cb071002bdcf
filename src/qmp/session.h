// One client's QMP conversation, without any I/O: the greeting, then
// capabilities negotiation (only qmp_capabilities is allowed), then command
// mode. Each frame from the JsonFramer becomes exactly one reply line, with
// the request's `id` echoed as it was sent. The wording follows QEMU 7.2.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "src/qmp/command.h"
#include "src/qmp/command_registry.h"
#include "src/qmp/json_framer.h"

namespace keel::qmp {

class Session {
 public:
  // `registry` must outlive the session.
  Session(const CommandRegistry& registry, VersionInfo version) noexcept
      : registry_(registry), version_(std::move(version)) {}

  // The line a client gets on connecting; it offers no capabilities.
  std::string greeting() const;
  // The reply line (ending in '\n') to one frame. Never throws for anything a
  // client sends; a handler that throws is answered with a GenericError.
  std::string handle(const Frame& frame);
  bool command_mode() const noexcept { return command_mode_; }

 private:
  CommandResult dispatch(const Json& request);

  const CommandRegistry& registry_;
  VersionInfo version_;
  bool command_mode_ = false;
};

// QEMU's way of writing JSON on the wire: one line, ", " and ": " between
// members, non-ASCII escaped as \uXXXX, invalid UTF-8 replaced.
std::string to_wire_text(const Json& value);

// `{"timestamp": {"seconds": S, "microseconds": U}, "event": NAME, "data": DATA}`
// plus '\n'; `data` is left out when null, as QEMU does for events without
// data. `realtime` is time since the Unix epoch.
std::string format_event(std::string_view name, const Json& data, std::chrono::nanoseconds realtime);

}  // namespace keel::qmp
