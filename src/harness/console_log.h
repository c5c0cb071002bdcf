// `--console-log FILE`: the guest's console, one line per line, each
// prefixed with the time its first byte arrived, in seconds since keel
// started, dmesg style: "[   12.345678] text". Bytes are written as the
// guest sent them (escape sequences included), so the file is what the
// console showed. Line-buffered, so the log is complete up to the last
// line even when a CI job kills keel. At most `max_size` bytes: a line that
// would go past it is not written; one note line says the log was truncated
// (and a warning is logged, once), and later lines are dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace keel::harness {

class ConsoleLog {
 public:
  // Creates or truncates the file; ConfigError naming the path if it can't.
  explicit ConsoleLog(const std::filesystem::path& path, uint64_t max_size = UINT64_MAX);

  // "[%5d.%06d] " + line + "\n". A write error is logged once and further
  // lines are dropped: the console log must never stop the VM.
  void write_line(std::string_view line, std::chrono::nanoseconds since_start) noexcept;

  // Flush and close; later write_line calls do nothing. Returns false (and
  // logs) if anything could not be written.
  bool close() noexcept;

  // "[   12.345678] " for a time since start.
  static std::string timestamp(std::chrono::nanoseconds since_start);

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
  };
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  bool failed_ = false;
  uint64_t max_size_;
  uint64_t written_ = 0;
  bool capped_ = false;
};

}  // namespace keel::harness
