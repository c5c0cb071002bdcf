// First: see the header (GCC bug 105562 in <regex>).
#include "keel/regex_warning_workaround.h"

#include "src/vmm/line_matcher.h"

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::vmm {

LineMatcher::LineMatcher(const std::string& pattern) {
  try {
    regex_ = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    throw ConfigError(fmt::format("invalid key-injection pattern '{}': {}", pattern, error.what()));
  }
  line_.reserve(kMaxLineBytes);
}

bool LineMatcher::check_line() noexcept {
  try {
    return std::regex_search(line_, regex_);
  } catch (...) {
    // regex_search may throw error_complexity/error_stack on pathological
    // patterns; treat it as no match rather than kill the vCPU thread.
    return false;
  }
}

bool LineMatcher::feed(std::span<const std::byte> bytes) noexcept {
  std::lock_guard guard(lock_);
  if (matched_) return false;
  for (std::byte b : bytes) {
    char c = static_cast<char>(b);
    if (c == '\n' || c == '\r') {
      if (!line_.empty() && check_line()) return matched_ = true;
      line_.clear();
      continue;
    }
    if (line_.size() >= kMaxLineBytes) line_.erase(0, line_.size() - kMaxLineBytes + 1);
    line_.push_back(c);  // capacity reserved up front: never reallocates
  }
  if (!line_.empty() && check_line()) matched_ = true;
  return matched_;
}

bool LineMatcher::matched() const noexcept {
  std::lock_guard guard(lock_);
  return matched_;
}

}  // namespace keel::vmm
