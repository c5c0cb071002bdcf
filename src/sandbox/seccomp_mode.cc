#include "src/sandbox/seccomp_mode.h"

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::sandbox {

SeccompMode parse_seccomp_mode(std::string_view text) {
  if (text == "on") return SeccompMode::on;
  if (text == "log") return SeccompMode::log;
  if (text == "off") return SeccompMode::off;
  throw ConfigError(fmt::format("invalid --seccomp '{}': expected on, log or off", text));
}

}  // namespace keel::sandbox
