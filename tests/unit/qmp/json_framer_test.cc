#include "src/qmp/json_framer.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace keel::qmp {
namespace {

std::vector<Frame> drain(JsonFramer& framer) {
  std::vector<Frame> frames;
  while (auto frame = framer.next()) frames.push_back(std::move(*frame));
  return frames;
}

std::vector<Frame> frames_of(std::string_view text, size_t max_bytes = JsonFramer::kDefaultMaxValueBytes,
                             size_t max_depth = JsonFramer::kDefaultMaxDepth) {
  JsonFramer framer(max_bytes, max_depth);
  framer.feed(text);
  return drain(framer);
}

void expect_value(const Frame& frame, std::string_view text) {
  EXPECT_EQ(frame.kind, Frame::Kind::value);
  EXPECT_EQ(frame.text, text);
}

TEST(JsonFramer, OneObject) {
  auto frames = frames_of(R"({"execute":"stop"})");
  ASSERT_EQ(frames.size(), 1u);
  expect_value(frames[0], R"({"execute":"stop"})");
}

TEST(JsonFramer, ObjectSplitAcrossReadsIsAssembled) {
  JsonFramer framer;
  const std::string text = R"({"execute": "query-version", "id": [1, {"a": "}"}]})";
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    framer.feed(text.substr(i, 1));
    EXPECT_FALSE(framer.next().has_value()) << "at byte " << i;
  }
  framer.feed(text.substr(text.size() - 1));
  auto frame = framer.next();
  ASSERT_TRUE(frame.has_value());
  expect_value(*frame, text);
  EXPECT_FALSE(framer.next().has_value());
}

TEST(JsonFramer, SeveralObjectsInOneReadWithoutNewlines) {
  auto frames = frames_of("{\"a\":1}{\"b\":2}\n  {\"c\":[3]}\r\n");
  ASSERT_EQ(frames.size(), 3u);
  expect_value(frames[0], R"({"a":1})");
  expect_value(frames[1], R"({"b":2})");
  expect_value(frames[2], R"({"c":[3]})");
}

TEST(JsonFramer, BracesAndQuotesInsideStringsDoNotCount) {
  const std::string text = R"({"s": "}]{[ \" \\\" \\", "t": "\\"})";
  auto frames = frames_of(text + "{}");
  ASSERT_EQ(frames.size(), 2u);
  expect_value(frames[0], text);
  expect_value(frames[1], "{}");
}

TEST(JsonFramer, EscapeSplitAcrossReads) {
  JsonFramer framer;
  framer.feed(R"({"s": "a\)");
  EXPECT_FALSE(framer.next().has_value());
  framer.feed(R"("b"})");
  auto frame = framer.next();
  ASSERT_TRUE(frame.has_value());
  expect_value(*frame, R"({"s": "a\"b"})");
}

TEST(JsonFramer, NestedObjectsAndArrays) {
  auto frames = frames_of(R"({"a": {"b": [{"c": [[]]}]}} [1, [2]])");
  ASSERT_EQ(frames.size(), 2u);
  expect_value(frames[0], R"({"a": {"b": [{"c": [[]]}]}})");
  expect_value(frames[1], "[1, [2]]");
}

TEST(JsonFramer, TopLevelScalarsAreFramedForTheParserToReject) {
  auto frames = frames_of("42 \"str\" true abc{}");
  ASSERT_EQ(frames.size(), 5u);
  expect_value(frames[0], "42");
  expect_value(frames[1], "\"str\"");
  expect_value(frames[2], "true");
  expect_value(frames[3], "abc");
  expect_value(frames[4], "{}");
}

TEST(JsonFramer, BareTokenWaitsForItsEnd) {
  JsonFramer framer;
  framer.feed("12");
  EXPECT_FALSE(framer.next().has_value());
  framer.feed("3\n");
  auto frame = framer.next();
  ASSERT_TRUE(frame.has_value());
  expect_value(*frame, "123");
}

TEST(JsonFramer, StrayCloserIsAnError) {
  auto frames = frames_of("} {}");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].kind, Frame::Kind::error);
  EXPECT_EQ(frames[0].text, "JSON parse error, expecting value");
  expect_value(frames[1], "{}");
}

TEST(JsonFramer, OversizeValueGivesOneErrorAndIsSkipped) {
  const std::string big = "{\"s\": \"" + std::string(200, 'x') + "\", \"t\": {\"}\": 1}}";
  auto frames = frames_of(big + "{\"ok\":1}", 64);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].kind, Frame::Kind::error);
  EXPECT_EQ(frames[0].text, "JSON token size limit exceeded");
  expect_value(frames[1], R"({"ok":1})");
}

TEST(JsonFramer, OversizeKeepsMemoryBoundedWhileStreaming) {
  JsonFramer framer(1024);
  framer.feed("[");
  size_t errors = 0;
  for (int i = 0; i < 1000; ++i) {
    framer.feed(std::string(1000, ' ') + "1,");
    for (auto frames = drain(framer); const Frame& frame : frames) errors += frame.kind == Frame::Kind::error;
    EXPECT_LE(framer.pending_value_bytes(), 1024u);
  }
  framer.feed("1]{}");
  auto frames = drain(framer);
  EXPECT_EQ(errors, 1u);
  ASSERT_EQ(frames.size(), 1u);
  expect_value(frames[0], "{}");
}

TEST(JsonFramer, OversizeAtTheClosingByteStillEndsTheValue) {
  auto frames = frames_of("{\"a\":12}{}", 7);  // the '}' is byte 8
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].kind, Frame::Kind::error);
  expect_value(frames[1], "{}");
}

TEST(JsonFramer, OversizeTopLevelStringAndBareToken) {
  auto frames = frames_of("\"" + std::string(100, 'y') + "\" " + std::string(100, '7') + " {}", 16);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].kind, Frame::Kind::error);
  EXPECT_EQ(frames[1].kind, Frame::Kind::error);
  expect_value(frames[2], "{}");
}

TEST(JsonFramer, TooDeepIsAnErrorAndSkipped) {
  const std::string deep = std::string(40, '[') + std::string(40, ']');
  auto frames = frames_of(deep + "[[1]]", 4096, 32);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].kind, Frame::Kind::error);
  EXPECT_EQ(frames[0].text, "JSON nesting depth limit exceeded");
  expect_value(frames[1], "[[1]]");
}

TEST(JsonFramer, DepthAtTheLimitIsFine) {
  const std::string deep = std::string(32, '[') + std::string(32, ']');
  auto frames = frames_of(deep, 4096, 32);
  ASSERT_EQ(frames.size(), 1u);
  expect_value(frames[0], deep);
}

TEST(JsonFramer, GarbageBytesAreFramedNotTrusted) {
  const std::string garbage("\xff\x01\x80 {\"a\":\"\xfe\"}", 13);
  auto frames = frames_of(garbage);
  ASSERT_EQ(frames.size(), 2u);
  expect_value(frames[0], std::string("\xff\x01\x80", 3));
  expect_value(frames[1], std::string("{\"a\":\"\xfe\"}", 9));
}

TEST(JsonFramer, ReportsUnscannedInput) {
  JsonFramer framer;
  framer.feed("{}{}");
  EXPECT_TRUE(framer.has_unscanned_input());
  ASSERT_TRUE(framer.next().has_value());
  EXPECT_TRUE(framer.has_unscanned_input());
  ASSERT_TRUE(framer.next().has_value());
  EXPECT_FALSE(framer.next().has_value());
  EXPECT_FALSE(framer.has_unscanned_input());
}

}  // namespace
}  // namespace keel::qmp
