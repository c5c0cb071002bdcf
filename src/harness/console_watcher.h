// Watches the guest's serial console for a boot test: `--expect` patterns
// matched in order, `--fail-on` patterns matched at any time, `--timeout`.
// The first decision wins (all expectations met, a failure pattern matched,
// or the deadline passed) and is announced once through on_decided, so the
// machine can stop the VM; finish() turns the state plus how the VM ended
// into a HarnessResult.
//
// Matching (std::regex ECMAScript, searched within a line, i.e. not
// anchored; ^ and $ are the line's start and end):
// - Each complete line is checked against every --fail-on pattern first
//   (a failure takes precedence), then against the current expectation only.
//   A line meets at most one expectation: expectation k+1 is looked for in
//   the lines after the one that met expectation k.
// - The line still being written (no terminator yet, at most
//   kMaxPartialMatchBytes long) is checked the same way after every feed,
//   with `$` and a trailing `\b` not matching at its current end, so a
//   prompt such as "login: " is seen without waiting for a newline, and a
//   pattern anchored at the line end waits for the end. The line's later
//   bytes then meet no further expectation. (A lookahead at the end of a
//   pattern may match such a line early: avoid those.)
// - At a timeout and at finish() the pending line counts as ended and is
//   checked in full.
// Lines are split by LineSplitter (\n, \r\n, \r; at most 4096 bytes).
// Thread-safe: vCPU threads feed it, a timer thread checks the deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keel/clock.h"
#include "src/harness/harness_result.h"
#include "src/harness/line_splitter.h"

namespace keel::harness {

class ConsoleWatcher {
 public:
  static constexpr size_t kDefaultKeepLines = 20;
  // Longer partial lines wait for their end: checking a growing line after
  // every byte costs O(length^2), and prompts are short.
  static constexpr size_t kMaxPartialMatchBytes = 256;

  enum class State { running, all_met, failed, timed_out };

  struct Options {
    std::vector<std::string> expect;
    std::vector<std::string> fail_on;
    std::optional<std::chrono::nanoseconds> timeout;
    size_t keep_lines = kDefaultKeepLines;
  };

  // Compiles the patterns: an invalid one is a ConfigError
  // "invalid --expect regex '(': <why>". Time zero (for match times, the
  // timeout and the console log) is clock.monotonic() now. `clock` must
  // outlive the watcher.
  ConsoleWatcher(Options options, const Clock& clock);

  // Called once, when the state leaves `running` because of feed() or
  // check_deadline(), on that caller's thread and without the watcher's lock
  // held (it may call state()). Set before the guest runs.
  void set_on_decided(std::function<void(State)> on_decided);

  // Every console line as it completes (raw bytes, no terminator) with the
  // time its first byte arrived, in order, under the watcher's lock: for the
  // console log. Set before the guest runs.
  using LineSink = std::function<void(std::string_view line, std::chrono::nanoseconds started)>;
  void set_line_sink(LineSink sink);

  // Console output from the guest, in chunks of any size. Never throws.
  // Ignored after finish().
  void feed(std::span<const std::byte> bytes) noexcept;

  State state() const;
  // The monotonic time at which the timeout expires, if there is one: arm a
  // timer for it and call check_deadline() when it fires.
  std::optional<std::chrono::nanoseconds> deadline() const noexcept;
  // If the deadline has passed and nothing was decided yet: check the
  // pending line in full, and if that decides nothing either, time out.
  // Returns true when this call changed the state.
  bool check_deadline() noexcept;
  // Time since the watcher started.
  std::chrono::nanoseconds elapsed() const noexcept;

  // The VM has ended: check the pending line in full (if still running) and
  // build the result. Call once, after the last feed(); on_decided is not
  // called from here.
  HarnessResult finish(const VmEnd& end);

 private:
  struct Pattern {
    std::string text;
    std::regex regex;
  };
  struct Decision {
    bool decided = false;
    State state = State::running;
  };

  static std::vector<Pattern> compile(const std::vector<std::string>& patterns, std::string_view flag);
  bool search(const Pattern& pattern, std::string_view text, bool line_ended) noexcept;

  std::chrono::nanoseconds now() const noexcept;
  // Splitter callback: a complete line.
  void on_line(std::string_view text, std::chrono::nanoseconds started, std::chrono::nanoseconds ended);
  // Check one line (complete or pending) against the patterns; may decide.
  void match(std::string_view text, uint64_t line_number, std::chrono::nanoseconds at, bool line_ended,
             bool may_meet_expectation);
  // Check the line still being written (line_ended false).
  void match_pending();
  void decide(State state);
  Decision take_decision();
  static void announce(Decision decision, const std::function<void(State)>& on_decided) noexcept;

  const Clock& clock_;
  const std::chrono::nanoseconds start_;
  const std::optional<std::chrono::nanoseconds> timeout_;
  const size_t keep_lines_;
  const std::vector<Pattern> expect_;
  const std::vector<Pattern> fail_on_;

  mutable std::mutex lock_;
  std::function<void(State)> on_decided_;
  LineSink line_sink_;
  LineSplitter splitter_;
  State state_ = State::running;
  bool decision_pending_ = false;  // state_ changed, on_decided not yet called
  bool finished_ = false;
  bool search_error_logged_ = false;
  uint64_t lines_seen_ = 0;      // complete lines so far; the pending one is lines_seen_ + 1
  size_t next_expectation_ = 0;  // index into expect_
  std::vector<std::optional<LineMatch>> matches_;  // per expectation
  std::optional<FailureResult> failure_;
  // The pending line already met an expectation or a failure pattern: its
  // remaining bytes meet nothing more, and once it ends the recorded match
  // gets its full text.
  bool pending_line_used_ = false;
  std::deque<std::string> last_lines_;
};

}  // namespace keel::harness
