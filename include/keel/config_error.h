// Errors in what the user asked for (paths, sizes, flags, images). Thrown only
// while the machine is being built; main() prints what() as a one-line message.
#pragma once

#include <stdexcept>
#include <string>

namespace keel {

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace keel
