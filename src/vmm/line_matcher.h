// Watches the guest's console output for a line matching a regular
// expression (std::regex ECMAScript, searched within the line). Bytes are
// gathered per line ('\n' or '\r' ends one) in a bounded buffer that keeps
// the newest kMaxLineBytes, and the partial line is checked too, so a prompt
// without a newline matches. Once it has matched it stays matched.
// Thread-safe: vCPU threads feed it concurrently.
#pragma once

#include <cstddef>
#include <mutex>
#include <regex>
#include <span>
#include <string>

namespace keel::vmm {

class LineMatcher {
 public:
  static constexpr size_t kMaxLineBytes = 1024;

  // Throws ConfigError naming the pattern when it is not a valid regex.
  explicit LineMatcher(const std::string& pattern);

  // Returns true when this call produced the first match.
  bool feed(std::span<const std::byte> bytes) noexcept;
  bool matched() const noexcept;

 private:
  bool check_line() noexcept;

  mutable std::mutex lock_;
  std::regex regex_;
  std::string line_;
  bool matched_ = false;
};

}  // namespace keel::vmm
