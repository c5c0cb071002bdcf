#include "src/harness/line_splitter.h"

namespace keel::harness {

void LineSplitter::feed(std::span<const std::byte> bytes, std::chrono::nanoseconds now) {
  for (std::byte b : bytes) {
    const char c = static_cast<char>(b);
    if (c == '\n' && after_cr_) {  // the second half of "\r\n"
      after_cr_ = false;
      continue;
    }
    after_cr_ = false;
    if (c == '\n' || c == '\r') {
      // A terminator right after a forced break ends that (already emitted)
      // line rather than making an empty one.
      if (!after_forced_break_) emit(now);
      after_forced_break_ = false;
      after_cr_ = c == '\r';
      continue;
    }
    after_forced_break_ = false;
    if (pending_.empty()) pending_started_ = now;
    pending_.push_back(c);
    if (pending_.size() >= kMaxLineBytes) {
      emit(now);
      after_forced_break_ = true;
    }
  }
}

void LineSplitter::flush(std::chrono::nanoseconds now) {
  if (!pending_.empty()) emit(now);
}

void LineSplitter::emit(std::chrono::nanoseconds now) {
  // An empty line started when it ended.
  const std::chrono::nanoseconds started = pending_.empty() ? now : pending_started_;
  on_line_(pending_, started, now);
  pending_.clear();
}

}  // namespace keel::harness
