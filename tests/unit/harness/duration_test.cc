#include "src/harness/duration.h"

#include <gtest/gtest.h>

#include "keel/config_error.h"

namespace keel::harness {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST(ParseDuration, AcceptsEachUnitAndPlainSeconds) {
  EXPECT_EQ(parse_duration("30s"), nanoseconds(30s));
  EXPECT_EQ(parse_duration("2m"), nanoseconds(2min));
  EXPECT_EQ(parse_duration("500ms"), nanoseconds(500ms));
  EXPECT_EQ(parse_duration("1h"), nanoseconds(1h));
  EXPECT_EQ(parse_duration("45"), nanoseconds(45s));
}

TEST(ParseDuration, AcceptsFractions) {
  EXPECT_EQ(parse_duration("1.5s"), nanoseconds(1500ms));
  EXPECT_EQ(parse_duration("0.25"), nanoseconds(250ms));
  EXPECT_EQ(parse_duration(".5m"), nanoseconds(30s));
  EXPECT_EQ(parse_duration("1.5h"), nanoseconds(90min));
  EXPECT_EQ(parse_duration("0.5ms"), nanoseconds(500us));
  EXPECT_EQ(parse_duration("1.0000000001s"), nanoseconds(1s));  // beyond ns: ignored
}

TEST(ParseDuration, RejectsMalformedValuesWithOneLineNamingTheFlag) {
  for (const char* bad : {"", "s", "abc", "-5s", "5 s", " 5s", "5x", "5sec", "5S", "1.s", "1..5s", "0", "0s", "0.0m",
                          "5ms5", "+5"}) {
    try {
      parse_duration(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ConfigError& error) {
      const std::string message = error.what();
      EXPECT_EQ(message.rfind("invalid --timeout '", 0), 0u) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(ParseDuration, RejectsValuesThatWouldOverflowOrAreAbsurd) {
  EXPECT_THROW(parse_duration("367d"), ConfigError);
  EXPECT_THROW(parse_duration("9000h"), ConfigError);
  EXPECT_THROW(parse_duration("99999999999999999999999999s"), ConfigError);
  EXPECT_THROW(parse_duration("9223372036854775807ms"), ConfigError);
  EXPECT_EQ(parse_duration("8000h"), nanoseconds(8000h));
}

TEST(ParseDuration, NamesTheFlagGiven) {
  try {
    parse_duration("x", "--deadline");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "invalid --deadline 'x': expected a number, optionally followed by ms, s, m or h");
  }
}

TEST(FormatDuration, ShortestReadableForm) {
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(12345ms), "12.345s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(0ns), "0ms");
}

TEST(ToSeconds, MicrosecondResolution) {
  EXPECT_DOUBLE_EQ(to_seconds(12345678900ns), 12.345679);
  EXPECT_DOUBLE_EQ(to_seconds(0ns), 0.0);
}

}  // namespace
}  // namespace keel::harness
