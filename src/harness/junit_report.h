// `--junit FILE`: the boot test as a JUnit XML report, which CI systems
// (GitLab, Jenkins, GitHub test reporters) show as test cases.
//
// One <testsuite> with, in order:
// - one <testcase> per --expect ("expect 1: <pattern>"), passed when met;
//   its time is from the previous expectation's match (or the start) to its
//   own. The first unmet one fails with why (timeout, guest stopped, failure
//   pattern, VM error -- the last as <error>); later unmet ones fail as
//   "not reached".
// - "no --fail-on pattern matched": fails with the pattern and the line.
// - "verdict": fails (or errors, for a VM error) whenever keel's exit status
//   is not 0, with the one-line summary; so a report has a failure or error
//   exactly when keel exited non-zero, also when no --expect was given.
// Console text is made valid XML 1.0 (see text_escape.h).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "src/harness/harness_result.h"

namespace keel::harness {

inline constexpr std::string_view kDefaultSuiteName = "keel boot test";

std::string junit_xml(const HarnessResult& result, std::string_view suite_name = kDefaultSuiteName);

// Writes `text` to `path` (replacing it); throws std::runtime_error naming
// `flag`, the path and the system error on failure.
void write_report_file(std::string_view flag, const std::filesystem::path& path, std::string_view text);

}  // namespace keel::harness
