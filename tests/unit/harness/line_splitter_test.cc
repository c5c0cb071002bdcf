#include "src/harness/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keel::harness {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

struct Line {
  std::string text;
  nanoseconds started;
  nanoseconds ended;
  bool operator==(const Line&) const = default;
};

class LineSplitterTest : public ::testing::Test {
 protected:
  LineSplitter splitter{[this](std::string_view text, nanoseconds started, nanoseconds ended) {
    lines.push_back(Line{std::string(text), started, ended});
  }};
  std::vector<Line> lines;

  void feed(std::string_view text, nanoseconds now = 0ns) {
    splitter.feed(std::as_bytes(std::span(text.data(), text.size())), now);
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const Line& l : lines) out.push_back(l.text);
    return out;
  }
};

TEST_F(LineSplitterTest, SplitsOnEachKindOfLineEnd) {
  feed("a\nb\r\nc\rd\n\ne");
  EXPECT_EQ(texts(), (std::vector<std::string>{"a", "b", "c", "d", ""}));
  EXPECT_EQ(splitter.pending(), "e");
}

TEST_F(LineSplitterTest, CrLfSplitAcrossChunksEndsOneLine) {
  feed("first\r");
  feed("\nsecond\r");
  feed("\r\n");
  EXPECT_EQ(texts(), (std::vector<std::string>{"first", "second", ""}));
}

TEST_F(LineSplitterTest, ByteAtATimeGivesTheSameLines) {
  const std::string text = "Linux version 6.1\r\nCommand line: x\n\rlogin: ";
  for (char c : text) feed(std::string_view(&c, 1));
  EXPECT_EQ(texts(), (std::vector<std::string>{"Linux version 6.1", "Command line: x", ""}));
  EXPECT_EQ(splitter.pending(), "login: ");
}

TEST_F(LineSplitterTest, RecordsWhenALineStartedAndEnded) {
  feed("par", 1s);
  feed("tial\n", 3s);
  feed("\n", 4s);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], (Line{"partial", 1s, 3s}));
  EXPECT_EQ(lines[1], (Line{"", 4s, 4s}));
}

TEST_F(LineSplitterTest, LongLinesAreBrokenAtTheBound) {
  const std::string chunk(LineSplitter::kMaxLineBytes, 'x');
  feed(chunk + chunk + "tail\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, chunk);
  EXPECT_EQ(lines[1].text, chunk);
  EXPECT_EQ(lines[2].text, "tail");
  EXPECT_TRUE(splitter.pending().empty());
}

TEST_F(LineSplitterTest, TerminatorRightAfterABreakMakesNoEmptyLine) {
  const std::string chunk(LineSplitter::kMaxLineBytes, 'y');
  feed(chunk);
  feed("\r\nnext\n");
  EXPECT_EQ(texts(), (std::vector<std::string>{chunk, "next"}));
}

TEST_F(LineSplitterTest, NeverHoldsMoreThanTheBound) {
  const std::string big(10 * LineSplitter::kMaxLineBytes + 7, 'z');
  feed(big);
  EXPECT_EQ(lines.size(), 10u);
  EXPECT_EQ(splitter.pending().size(), 7u);
}

TEST_F(LineSplitterTest, FlushEmitsOnlyANonEmptyPendingLine) {
  splitter.flush(1s);
  EXPECT_TRUE(lines.empty());
  feed("prompt$ ", 2s);
  splitter.flush(5s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], (Line{"prompt$ ", 2s, 5s}));
}

TEST_F(LineSplitterTest, KeepsNulAndEscapeBytes) {
  const std::string text("a\0b\x1b[0m\n", 8);
  feed(text);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, std::string("a\0b\x1b[0m", 7));
}

}  // namespace
}  // namespace keel::harness
