// The CLI tests' way to run the parser: `args` as typed after "keel".
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "src/cli/command_line.h"

namespace keel::cli::test_support {

inline ParseOutcome parse(std::vector<std::string> args) {
  args.insert(args.begin(), "keel");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  return parse_command_line(static_cast<int>(args.size()), argv.data());
}

// The one-line error of a failed parse (and checks that it failed).
inline std::string error_of(std::vector<std::string> args) {
  const ParseOutcome outcome = parse(std::move(args));
  EXPECT_FALSE(outcome.config.has_value());
  EXPECT_EQ(outcome.exit_status, kExitError);
  EXPECT_EQ(outcome.error.find('\n'), std::string::npos);
  return outcome.error;
}

}  // namespace keel::cli::test_support
