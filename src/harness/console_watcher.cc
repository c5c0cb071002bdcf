// First: see the header (GCC bug 105562 in <regex>).
#include "keel/regex_warning_workaround.h"

#include "src/harness/console_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "src/harness/text_escape.h"

namespace keel::harness {

using std::chrono::nanoseconds;

ConsoleWatcher::ConsoleWatcher(Options options, const Clock& clock)
    : clock_(clock),
      start_(clock.monotonic()),
      timeout_(options.timeout),
      keep_lines_(options.keep_lines),
      expect_(compile(options.expect, "--expect")),
      fail_on_(compile(options.fail_on, "--fail-on")),
      splitter_([this](std::string_view text, nanoseconds started, nanoseconds ended) { on_line(text, started, ended); }),
      matches_(expect_.size()) {
  if (timeout_ && *timeout_ <= nanoseconds::zero()) throw ConfigError("invalid --timeout: must be greater than zero");
}

std::vector<ConsoleWatcher::Pattern> ConsoleWatcher::compile(const std::vector<std::string>& patterns,
                                                             std::string_view flag) {
  std::vector<Pattern> compiled;
  compiled.reserve(patterns.size());
  for (const std::string& text : patterns) {
    if (text.empty()) throw ConfigError(fmt::format("invalid {} regex '': the pattern is empty", flag));
    try {
      compiled.push_back(Pattern{text, std::regex(text, std::regex::ECMAScript)});
    } catch (const std::regex_error& error) {
      throw ConfigError(fmt::format("invalid {} regex '{}': {}", flag, to_one_line(text), error.what()));
    }
  }
  return compiled;
}

void ConsoleWatcher::set_on_decided(std::function<void(State)> on_decided) {
  std::lock_guard guard(lock_);
  on_decided_ = std::move(on_decided);
}

void ConsoleWatcher::set_line_sink(LineSink sink) {
  std::lock_guard guard(lock_);
  line_sink_ = std::move(sink);
}

nanoseconds ConsoleWatcher::now() const noexcept { return clock_.monotonic() - start_; }
nanoseconds ConsoleWatcher::elapsed() const noexcept { return now(); }

std::optional<nanoseconds> ConsoleWatcher::deadline() const noexcept {
  if (!timeout_) return std::nullopt;
  return start_ + *timeout_;
}

ConsoleWatcher::State ConsoleWatcher::state() const {
  std::lock_guard guard(lock_);
  return state_;
}

bool ConsoleWatcher::search(const Pattern& pattern, std::string_view text, bool line_ended) noexcept {
  auto flags = std::regex_constants::match_default;
  // A line that has not ended yet has no end for `$` or a final `\b` to
  // match: more of it may still come.
  if (!line_ended) flags |= std::regex_constants::match_not_eol | std::regex_constants::match_not_eow;
  try {
    return std::regex_search(text.begin(), text.end(), pattern.regex, flags);
  } catch (const std::exception& error) {
    // libstdc++ may give up on a pathological pattern/line pair (complexity
    // or memory); the line then does not match. Logged once: guest-driven.
    if (!search_error_logged_) {
      search_error_logged_ = true;
      spdlog::warn("boot-test harness: matching '{}' against a console line failed ({}); treated as no match",
                   to_one_line(pattern.text), error.what());
    }
    return false;
  }
}

void ConsoleWatcher::on_line(std::string_view text, nanoseconds started, nanoseconds ended) {
  ++lines_seen_;
  last_lines_.emplace_back(text);
  while (last_lines_.size() > keep_lines_) last_lines_.pop_front();
  if (line_sink_) line_sink_(text, started);

  const bool used = pending_line_used_;
  pending_line_used_ = false;
  if (used) {
    // The line met something while it was still being written: record the
    // whole line now, and let it meet no further expectation.
    for (auto& m : matches_) {
      if (m && m->line_number == lines_seen_) m->line = std::string(text);
    }
    if (failure_ && failure_->match.line_number == lines_seen_) failure_->match.line = std::string(text);
  }
  match(text, lines_seen_, ended, /*line_ended=*/true, /*may_meet_expectation=*/!used);
}

void ConsoleWatcher::match(std::string_view text, uint64_t line_number, nanoseconds at, bool line_ended,
                           bool may_meet_expectation) {
  if (state_ != State::running) return;
  const LineMatch here{.line = std::string(text), .line_number = line_number, .at = at, .partial = !line_ended};
  for (size_t i = 0; i < fail_on_.size(); ++i) {
    if (search(fail_on_[i], text, line_ended)) {
      failure_ = FailureResult{.pattern = fail_on_[i].text, .pattern_index = i, .match = here};
      if (!line_ended) pending_line_used_ = true;
      decide(State::failed);
      return;
    }
  }
  if (!may_meet_expectation || next_expectation_ >= expect_.size()) return;
  if (!search(expect_[next_expectation_], text, line_ended)) return;
  matches_[next_expectation_] = here;
  ++next_expectation_;
  if (!line_ended) pending_line_used_ = true;
  if (next_expectation_ == expect_.size()) decide(State::all_met);
}

void ConsoleWatcher::match_pending() {
  const std::string_view pending = splitter_.pending();
  if (pending.empty() || pending.size() > kMaxPartialMatchBytes) return;
  match(pending, lines_seen_ + 1, now(), /*line_ended=*/false, /*may_meet_expectation=*/!pending_line_used_);
}

void ConsoleWatcher::decide(State state) {
  state_ = state;
  decision_pending_ = true;
}

ConsoleWatcher::Decision ConsoleWatcher::take_decision() {
  Decision decision;
  if (decision_pending_) {
    decision_pending_ = false;
    decision = Decision{.decided = true, .state = state_};
  }
  return decision;
}

void ConsoleWatcher::announce(Decision decision, const std::function<void(State)>& on_decided) noexcept {
  if (!decision.decided || !on_decided) return;
  try {
    on_decided(decision.state);
  } catch (const std::exception& error) {
    spdlog::error("boot-test harness: stopping the VM failed: {}", error.what());
  }
}

void ConsoleWatcher::feed(std::span<const std::byte> bytes) noexcept {
  Decision decision;
  std::function<void(State)> on_decided;
  try {
    std::lock_guard guard(lock_);
    if (finished_) return;
    splitter_.feed(bytes, now());
    if (state_ == State::running) match_pending();
    decision = take_decision();
    if (decision.decided) on_decided = on_decided_;
  } catch (const std::exception& error) {
    // Only allocation can fail here; the console itself must go on.
    spdlog::error("boot-test harness: dropped console output: {}", error.what());
  }
  announce(decision, on_decided);
}

bool ConsoleWatcher::check_deadline() noexcept {
  Decision decision;
  std::function<void(State)> on_decided;
  try {
    std::lock_guard guard(lock_);
    if (finished_ || !timeout_ || state_ != State::running || now() < *timeout_) return false;
    // What arrived before the deadline counts: the pending line, ended.
    splitter_.flush(now());
    if (state_ == State::running) decide(State::timed_out);
    decision = take_decision();
    if (decision.decided) on_decided = on_decided_;
  } catch (const std::exception& error) {
    spdlog::error("boot-test harness: checking the timeout failed: {}", error.what());
    return false;
  }
  announce(decision, on_decided);
  return decision.decided;
}

HarnessResult ConsoleWatcher::finish(const VmEnd& end) {
  std::lock_guard guard(lock_);
  if (!finished_) {
    finished_ = true;
    // The output has ended, so the pending line has too.
    if (state_ == State::running) splitter_.flush(now());
    decision_pending_ = false;  // the VM has stopped: nothing to announce
  }

  HarnessResult result;
  switch (state_) {
    case State::all_met: result.reason = Reason::all_expectations_met; break;
    case State::failed: result.reason = Reason::failure_matched; break;
    case State::timed_out: result.reason = Reason::timeout; break;
    case State::running:
      switch (end.kind) {
        case VmEndKind::vm_error: result.reason = Reason::vm_error; break;
        case VmEndKind::interrupted: result.reason = Reason::interrupted; break;
        case VmEndKind::guest_stopped:
        case VmEndKind::stopped_by_harness:
          result.reason = expect_.empty() ? Reason::guest_exited : Reason::guest_exited_early;
          break;
      }
      break;
  }
  result.exit_status = exit_status_for(result.reason, end.exit_status);
  for (size_t i = 0; i < expect_.size(); ++i) {
    result.expectations.push_back(ExpectationResult{.pattern = expect_[i].text, .match = matches_[i]});
  }
  for (const Pattern& p : fail_on_) result.fail_on.push_back(p.text);
  result.failure = failure_;
  result.last_lines.assign(last_lines_.begin(), last_lines_.end());
  result.duration = now();
  result.timeout = timeout_;
  result.vm_end = end;
  return result;
}

}  // namespace keel::harness
