// --stats-on-exit: the flag, its --config key and --print-config (issue 10 item 4).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/unit/cli/parse_test_support.h"

namespace keel::cli {
namespace {

using test_support::error_of;
using test_support::parse;

std::string config_file(const std::string& json) {
  const std::string path = "/tmp/keel-stats-flag-" + std::to_string(getpid()) + ".json";
  std::ofstream(path) << json;
  return path;
}

TEST(StatsOnExitFlag, OffByDefaultOnWithTheFlag) {
  const ParseOutcome plain = parse({"run"});
  ASSERT_TRUE(plain.config.has_value()) << plain.error;
  EXPECT_FALSE(plain.config->stats_on_exit);
  const ParseOutcome on = parse({"run", "--stats-on-exit"});
  ASSERT_TRUE(on.config.has_value()) << on.error;
  EXPECT_TRUE(on.config->stats_on_exit);
}

TEST(StatsOnExitFlag, InRunHelp) {
  const ParseOutcome help = parse({"run", "--help"});
  EXPECT_NE(help.output.find("--stats-on-exit"), std::string::npos) << help.output;
}

TEST(StatsOnExitFlag, ConfigKeyAndPrintConfig) {
  const std::string path = config_file(R"({"stats-on-exit": true})");
  const ParseOutcome on = parse({"run", "--config", path});
  ASSERT_TRUE(on.config.has_value()) << on.error;
  EXPECT_TRUE(on.config->stats_on_exit);

  const ParseOutcome printed = parse({"run", "--config", path, "--print-config"});
  ASSERT_FALSE(printed.config.has_value());
  EXPECT_EQ(nlohmann::json::parse(printed.output)["stats-on-exit"], true) << printed.output;
  const ParseOutcome printed_off = parse({"run", "--print-config"});
  EXPECT_EQ(nlohmann::json::parse(printed_off.output)["stats-on-exit"], false) << printed_off.output;

  std::ofstream(path) << R"({"stats-on-exit": false})";
  const ParseOutcome off = parse({"run", "--config", path});
  ASSERT_TRUE(off.config.has_value()) << off.error;
  EXPECT_FALSE(off.config->stats_on_exit);

  std::ofstream(path) << R"({"stats-on-exit": "yes"})";
  const std::string error = error_of({"run", "--config", path});
  EXPECT_NE(error.find("/stats-on-exit: expected true or false"), std::string::npos) << error;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace keel::cli
