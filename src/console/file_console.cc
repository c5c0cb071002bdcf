// The file:PATH backend: guest output appended to a file created (or
// truncated) at start-up.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "src/console/backends.h"
#include "src/console/fd_io.h"

namespace keel::console {

FileConsole::FileConsole(const std::filesystem::path& path) : path_(path.string()) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd_ < 0) throw ConfigError(fmt::format("serial file '{}': {}", path_, error_text(errno)));
}

FileConsole::~FileConsole() { close(fd_); }

void FileConsole::emit(std::span<const std::byte> bytes) noexcept {
  if (write_all(fd_, bytes, 1000) != WriteOutcome::complete && !output_error_reported_.exchange(true)) {
    spdlog::warn("serial file '{}': write failed: {}; guest output is being lost", path_, error_text(errno));
  }
}

}  // namespace keel::console
