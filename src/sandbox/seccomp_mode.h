// --seccomp=on|log|off.
#pragma once

#include <string_view>

namespace keel::sandbox {

enum class SeccompMode {
  on,   // a forbidden system call stops keel (SIGSYS; one line on stderr; exit kExitSeccompViolation)
  log,  // the kernel logs a forbidden call (kernel log / audit) and lets it run
  off,  // no filter
};

// "on", "log" or "off"; anything else is a keel::ConfigError naming the value
// and the allowed ones.
SeccompMode parse_seccomp_mode(std::string_view text);

}  // namespace keel::sandbox
