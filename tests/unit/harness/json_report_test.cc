#include "src/harness/json_report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "result_fixtures.h"

namespace keel::harness {
namespace {

using nlohmann::json;

TEST(ResultJson, TimeoutFields) {
  const json doc = json::parse(result_json(fixtures::timed_out()));
  EXPECT_EQ(doc["status"], "failed");
  EXPECT_EQ(doc["reason"], "timeout");
  EXPECT_EQ(doc["exit_status"], 4);
  EXPECT_EQ(doc["summary"],
            "keel: timeout after 30s waiting for expectation 2/3 'login:'; last console lines: Linux version 6.1.0 | "
            "Run /init as init process");
  EXPECT_DOUBLE_EQ(doc["duration_s"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(doc["timeout_s"].get<double>(), 30.0);
  EXPECT_EQ(doc["vm"]["end"], "stopped_by_harness");
  ASSERT_EQ(doc["expectations"].size(), 3u);
  const json& first = doc["expectations"][0];
  EXPECT_EQ(first["index"], 1);
  EXPECT_EQ(first["pattern"], "Linux version");
  EXPECT_EQ(first["met"], true);
  EXPECT_EQ(first["line"], "Linux version 6.1.0");
  EXPECT_EQ(first["line_number"], 1);
  EXPECT_DOUBLE_EQ(first["time_s"].get<double>(), 1.5);
  EXPECT_EQ(first["partial"], false);
  const json& second = doc["expectations"][1];
  EXPECT_EQ(second["met"], false);
  EXPECT_TRUE(second["line"].is_null());
  EXPECT_TRUE(second["time_s"].is_null());
  EXPECT_EQ(doc["expectations"][2]["pattern"], "\\$ $");
  EXPECT_EQ(doc["fail_on"], json::array({"Kernel panic"}));
  EXPECT_TRUE(doc["failure"].is_null());
  EXPECT_EQ(doc["last_lines"], json::array({"Linux version 6.1.0", "Run /init as init process"}));
}

TEST(ResultJson, PassedAndFailure) {
  HarnessResult r = fixtures::all_met();
  json doc = json::parse(result_json(r));
  EXPECT_EQ(doc["status"], "passed");
  EXPECT_EQ(doc["exit_status"], 0);
  EXPECT_TRUE(doc["timeout_s"].is_null());

  r.reason = Reason::failure_matched;
  r.exit_status = kExitFailureMatched;
  r.failure = FailureResult{.pattern = "Oops", .pattern_index = 1, .match = fixtures::line("Oops: 0002", 9, std::chrono::seconds(3))};
  doc = json::parse(result_json(r));
  EXPECT_EQ(doc["status"], "failed");
  EXPECT_EQ(doc["failure"]["pattern"], "Oops");
  EXPECT_EQ(doc["failure"]["line"], "Oops: 0002");
  EXPECT_EQ(doc["failure"]["line_number"], 9);
  EXPECT_DOUBLE_EQ(doc["failure"]["time_s"].get<double>(), 3.0);
}

TEST(ResultJson, ConsoleBytesBecomeValidJson) {
  HarnessResult r = fixtures::timed_out();
  static constexpr char kLine[] = "\0\x1b[0m\xff\xc3\xa9\"\\";
  r.last_lines = {std::string(kLine, sizeof(kLine) - 1)};
  r.vm_end.description = "bad \xfe byte";
  const std::string text = result_json(r);
  const json doc = json::parse(text);  // throws on invalid UTF-8
  static constexpr char kExpected[] = "\0\x1b[0m\\xff\xc3\xa9\"\\";
  EXPECT_EQ(doc["last_lines"][0], std::string(kExpected, sizeof(kExpected) - 1));
  EXPECT_EQ(doc["vm"]["description"], "bad \\xfe byte");
  EXPECT_NE(text.find("\\u0000\\u001b[0m"), std::string::npos) << text;
}

}  // namespace
}  // namespace keel::harness
