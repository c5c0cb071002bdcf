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

FileConsole::FileConsole(const std::filesystem::path& path, uint64_t max_size)
    : path_(path.string()), max_size_(max_size) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd_ < 0) throw ConfigError(fmt::format("serial file '{}': {}", path_, error_text(errno)));
}

FileConsole::~FileConsole() { close(fd_); }

void FileConsole::emit(std::span<const std::byte> bytes) noexcept {
  std::lock_guard guard(lock_);
  if (capped_) return;
  const uint64_t room = max_size_ - written_;
  const bool hits_cap = bytes.size() > room;
  if (hits_cap) bytes = bytes.first(static_cast<size_t>(room));
  written_ += bytes.size();
  if (write_all(fd_, bytes, 1000) != WriteOutcome::complete && !output_error_reported_.exchange(true)) {
    spdlog::warn("serial file '{}': write failed: {}; guest output is being lost", path_, error_text(errno));
  }
  if (!hits_cap) return;
  capped_ = true;
  try {
    // fmt, not "\n" + string: GCC 12 at -O3 reports a false -Wrestrict
    // overlap in the inlined operator+.
    const std::string note = fmt::format("\n{}", truncation_note("serial output", max_size_));
    (void)write_all(fd_, std::as_bytes(std::span(note.data(), note.size())), 1000);
    spdlog::warn("serial file '{}': reached max-size ({}); further guest output is dropped", path_,
                 format_byte_size(max_size_));
  } catch (...) {
    // Out of memory for the note: the cap still holds.
  }
}

}  // namespace keel::console
