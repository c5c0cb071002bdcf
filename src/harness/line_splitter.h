// Splits a console byte stream, fed in chunks of any size, into lines.
// "\n", "\r\n" and a lone "\r" each end a line (a "\r\n" split across two
// chunks still ends only one). A line that reaches kMaxLineBytes without an
// end is emitted as a line of its own and the rest continues as the next
// one (a terminator right after such a break ends nothing more), so a guest
// that never prints a newline cannot grow keel's memory.
// Not thread-safe: the ConsoleWatcher serialises calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace keel::harness {

class LineSplitter {
 public:
  static constexpr size_t kMaxLineBytes = 4096;

  // `text` holds the line without its terminator; `started` is the time its
  // first byte arrived (for timestamped logs), `ended` the time it ended.
  using LineHandler =
      std::function<void(std::string_view text, std::chrono::nanoseconds started, std::chrono::nanoseconds ended)>;

  explicit LineSplitter(LineHandler on_line) : on_line_(std::move(on_line)) {}

  // Feed bytes that arrived at time `now`; completed lines go to the handler.
  void feed(std::span<const std::byte> bytes, std::chrono::nanoseconds now);

  // The line so far (no terminator seen yet) and when it started.
  std::string_view pending() const noexcept { return pending_; }
  std::chrono::nanoseconds pending_started() const noexcept { return pending_started_; }

  // End of input: a non-empty pending line is emitted as a line.
  void flush(std::chrono::nanoseconds now);

 private:
  void emit(std::chrono::nanoseconds now);

  LineHandler on_line_;
  std::string pending_;
  std::chrono::nanoseconds pending_started_{0};
  bool after_cr_ = false;  // the previous byte was a '\r' that ended a line
  bool after_forced_break_ = false;  // the previous byte filled a line to kMaxLineBytes
};

}  // namespace keel::harness
