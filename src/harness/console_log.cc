#include "src/harness/console_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"

namespace keel::harness {

ConsoleLog::ConsoleLog(const std::filesystem::path& path, uint64_t max_size)
    : path_(path), file_(std::fopen(path.c_str(), "wb")), max_size_(max_size) {
  if (!file_) {
    throw ConfigError(fmt::format("cannot open --console-log file '{}': {}", path.string(), std::strerror(errno)));
  }
  std::setvbuf(file_.get(), nullptr, _IOLBF, 0);
}

std::string ConsoleLog::timestamp(std::chrono::nanoseconds since_start) {
  const int64_t micros = std::max<int64_t>(0, since_start.count() / 1000);
  return fmt::format("[{:5}.{:06}] ", micros / 1'000'000, micros % 1'000'000);
}

void ConsoleLog::write_line(std::string_view line, std::chrono::nanoseconds since_start) noexcept {
  if (!file_ || failed_ || capped_) return;
  try {
    const std::string stamp = timestamp(since_start);
    const uint64_t length = stamp.size() + line.size() + 1;
    if (length > max_size_ - written_) {
      capped_ = true;
      const std::string note = fmt::format(
          "{}[keel: console log truncated at {} bytes (max-size {}); further lines are dropped]\n", stamp, written_,
          max_size_);
      std::fwrite(note.data(), 1, note.size(), file_.get());
      spdlog::warn("--console-log '{}': reached max-size ({} bytes); further lines are dropped", path_.string(),
                   max_size_);
      return;
    }
    written_ += length;
    const bool ok = std::fwrite(stamp.data(), 1, stamp.size(), file_.get()) == stamp.size() &&
                    std::fwrite(line.data(), 1, line.size(), file_.get()) == line.size() &&
                    std::fputc('\n', file_.get()) != EOF;
    if (!ok) {
      failed_ = true;
      spdlog::error("--console-log '{}': write failed ({}); no further lines are logged", path_.string(),
                    std::strerror(errno));
    }
  } catch (const std::exception& error) {
    failed_ = true;
    spdlog::error("--console-log '{}': {}; no further lines are logged", path_.string(), error.what());
  }
}

bool ConsoleLog::close() noexcept {
  if (!file_) return !failed_;
  const bool ok = std::fclose(file_.release()) == 0;
  if (!ok && !failed_) spdlog::error("--console-log '{}': closing failed ({})", path_.string(), std::strerror(errno));
  return ok && !failed_;
}

}  // namespace keel::harness
