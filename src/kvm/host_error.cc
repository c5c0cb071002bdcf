#include "src/kvm/host_error.h"

#include <cstring>

#include <fmt/format.h>

namespace keel::kvm {

std::string errno_message(const char* what, int error) {
  // strerror_r (GNU flavour) is thread-safe, unlike strerror.
  char buffer[128];
  const char* text = strerror_r(error, buffer, sizeof buffer);
  return fmt::format("{}: {}", what, text);
}

void throw_host_error(const char* what, int error) { throw HostError(errno_message(what, error)); }

}  // namespace keel::kvm
