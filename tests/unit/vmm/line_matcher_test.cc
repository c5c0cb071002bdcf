#include "src/vmm/line_matcher.h"

#include <gtest/gtest.h>

#include <string>

#include "keel/config_error.h"

namespace keel::vmm {
namespace {

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

TEST(LineMatcher, MatchesWithinALineByteByByte) {
  LineMatcher matcher("ready: press a key");
  std::string out = "booting...\nready: press a key\n";
  int firsts = 0;
  for (char c : out) firsts += matcher.feed(bytes(std::string(1, c))) ? 1 : 0;
  EXPECT_EQ(firsts, 1);
  EXPECT_TRUE(matcher.matched());
}

TEST(LineMatcher, PartialLineMatches) {
  LineMatcher matcher("login: $");
  EXPECT_TRUE(matcher.feed(bytes("Welcome\r\nlogin: ")));
}

TEST(LineMatcher, DoesNotMatchAcrossLines) {
  LineMatcher matcher("foo.*bar");
  EXPECT_FALSE(matcher.feed(bytes("foo\nbar\n")));
  EXPECT_FALSE(matcher.matched());
  EXPECT_TRUE(matcher.feed(bytes("foo bar")));
}

TEST(LineMatcher, AnchorsApplyPerLine) {
  LineMatcher matcher("^# ok$");
  EXPECT_FALSE(matcher.feed(bytes("x # ok\n")));
  EXPECT_TRUE(matcher.feed(bytes("# ok\n")));
}

TEST(LineMatcher, LatchesAndReportsFirstMatchOnce) {
  LineMatcher matcher("x");
  EXPECT_TRUE(matcher.feed(bytes("x")));
  EXPECT_FALSE(matcher.feed(bytes("x\n")));
  EXPECT_TRUE(matcher.matched());
}

TEST(LineMatcher, LongLinesAreBoundedAndKeepTheTail) {
  LineMatcher matcher("TAIL$");
  std::string flood(100000, 'z');
  EXPECT_FALSE(matcher.feed(bytes(flood)));
  EXPECT_TRUE(matcher.feed(bytes("TAIL")));
}

TEST(LineMatcher, BinaryGarbageIsHarmless) {
  LineMatcher matcher("ok");
  std::string garbage;
  for (int i = 0; i < 256; ++i) garbage.push_back(static_cast<char>(i));
  EXPECT_FALSE(matcher.feed(bytes(garbage)));
}

TEST(LineMatcher, InvalidPatternIsAConfigError) {
  EXPECT_THROW(LineMatcher("(unclosed"), ConfigError);
}

}  // namespace
}  // namespace keel::vmm
