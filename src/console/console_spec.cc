#include "src/console/console_spec.h"

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/console/byte_size.h"

namespace keel::console {

vmm::ConsoleSpec parse_console_spec(std::string_view text) {
  auto with_path = [&](std::string_view prefix, vmm::ConsoleKind kind) {
    const std::string_view path = text.substr(prefix.size());
    if (path.empty()) throw ConfigError(fmt::format("{} needs a path", prefix));
    return vmm::ConsoleSpec{.kind = kind, .path = std::filesystem::path(path), .max_size = kDefaultOutputMaxSize};
  };
  if (text == "stdio") return vmm::ConsoleSpec{.kind = vmm::ConsoleKind::stdio, .path = {}, .max_size = kDefaultOutputMaxSize};
  if (text == "pty") return vmm::ConsoleSpec{.kind = vmm::ConsoleKind::pty, .path = {}, .max_size = kDefaultOutputMaxSize};
  if (text == "none") return vmm::ConsoleSpec{.kind = vmm::ConsoleKind::none, .path = {}, .max_size = kDefaultOutputMaxSize};
  if (text.starts_with("file:")) {
    const std::string_view rest = text.substr(5);
    if (rest.empty()) throw ConfigError("file: needs a path");
    const CappedPath file = parse_capped_path(rest, "--serial file:");
    return vmm::ConsoleSpec{.kind = vmm::ConsoleKind::file, .path = file.path, .max_size = file.max_size};
  }
  if (text.starts_with("unix:")) return with_path("unix:", vmm::ConsoleKind::unix_socket);
  throw ConfigError(fmt::format(
      "unknown serial backend '{}' (expected stdio, file:PATH[,max-size=SIZE], pty, unix:PATH or none)", text));
}

}  // namespace keel::console
