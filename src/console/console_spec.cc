#include "src/console/console_spec.h"

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::console {

vmm::ConsoleSpec parse_console_spec(std::string_view text) {
  auto with_path = [&](std::string_view prefix, vmm::ConsoleKind kind) {
    const std::string_view path = text.substr(prefix.size());
    if (path.empty()) throw ConfigError(fmt::format("{} needs a path", prefix));
    return vmm::ConsoleSpec{.kind = kind, .path = std::filesystem::path(path)};
  };
  if (text == "stdio") return vmm::ConsoleSpec{.kind = vmm::ConsoleKind::stdio, .path = {}};
  if (text == "pty") return vmm::ConsoleSpec{.kind = vmm::ConsoleKind::pty, .path = {}};
  if (text == "none") return vmm::ConsoleSpec{.kind = vmm::ConsoleKind::none, .path = {}};
  if (text.starts_with("file:")) return with_path("file:", vmm::ConsoleKind::file);
  if (text.starts_with("unix:")) return with_path("unix:", vmm::ConsoleKind::unix_socket);
  throw ConfigError(fmt::format("unknown serial backend '{}' (expected stdio, file:PATH, pty, unix:PATH or none)", text));
}

}  // namespace keel::console
