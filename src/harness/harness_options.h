// What `keel run` was asked for about the boot-test harness, parsed by the
// CLI (regexes are compiled, and so checked, when the BootTest is made).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace keel::harness {

// --console-log FILE[,max-size=SIZE]: the default cap, 1 GiB.
inline constexpr uint64_t kDefaultConsoleLogMaxSize = 1ull << 30;

struct HarnessOptions {
  std::vector<std::string> expect;   // --expect REGEX, repeatable, in order
  std::vector<std::string> fail_on;  // --fail-on REGEX, repeatable
  std::optional<std::chrono::nanoseconds> timeout;  // --timeout DURATION (parse_duration)
  std::optional<std::filesystem::path> junit;        // --junit FILE
  std::optional<std::filesystem::path> result_json;  // --result-json FILE
  std::optional<std::filesystem::path> console_log;  // --console-log FILE
  uint64_t console_log_max_size = kDefaultConsoleLogMaxSize;  // its ,max-size=SIZE

  // Any harness option given: the machine then makes a BootTest.
  bool enabled() const noexcept {
    return !expect.empty() || !fail_on.empty() || timeout || junit || result_json || console_log;
  }
};

}  // namespace keel::harness
