#include "src/harness/text_escape.h"

#include <gtest/gtest.h>

namespace keel::harness {
namespace {

using namespace std::string_literals;

TEST(ToValidUtf8, KeepsValidTextAndControlCharacters) {
  EXPECT_EQ(to_valid_utf8("plain"), "plain");
  EXPECT_EQ(to_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(to_valid_utf8("a\tb\x1b[0m"), "a\tb\x1b[0m");
  EXPECT_EQ(to_valid_utf8("a\0b"s), "a\0b"s);
}

TEST(ToValidUtf8, EscapesEveryByteOfAnInvalidSequence) {
  EXPECT_EQ(to_valid_utf8("\xff"), "\\xff");
  EXPECT_EQ(to_valid_utf8("\x80x"), "\\x80x");                      // lone continuation byte
  EXPECT_EQ(to_valid_utf8("\xc3"), "\\xc3");                        // truncated at the end
  EXPECT_EQ(to_valid_utf8("\xc3("), "\\xc3(");                      // bad continuation
  EXPECT_EQ(to_valid_utf8("\xc0\xaf"), "\\xc0\\xaf");                // overlong '/'
  EXPECT_EQ(to_valid_utf8("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");        // overlong, 3 bytes
  EXPECT_EQ(to_valid_utf8("\xed\xa0\x80"), "\\xed\\xa0\\x80");        // UTF-16 surrogate
  EXPECT_EQ(to_valid_utf8("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(to_valid_utf8("\xf8\x88\x80\x80\x80"), "\\xf8\\x88\\x80\\x80\\x80");
}

TEST(ToOneLine, EscapesControlsIncludingNewlineAndTab) {
  EXPECT_EQ(to_one_line("a\nb\rc\td\x1b[1m\x7f"), "a\\x0ab\\x0dc\\x09d\\x1b[1m\\x7f");
  EXPECT_EQ(to_one_line("\xff"), "\\xff");
}

TEST(ToOneLine, TruncatesAtACharacterBoundary) {
  EXPECT_EQ(to_one_line("abcdef", 4), "abcd...");
  EXPECT_EQ(to_one_line("abcd", 4), "abcd");
  // "\xc3\xa9" is one character: cutting at 2 must not split it.
  EXPECT_EQ(to_one_line("a\xc3\xa9z", 2), "a...");
}

TEST(ToXmlText, EscapesMarkupCharacters) {
  EXPECT_EQ(to_xml_text("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
}

TEST(ToXmlText, ReplacesCharactersXml10Forbids) {
  EXPECT_EQ(to_xml_text("a\0b\x01\x1b[0m\x1f"s), "a\\x00b\\x01\\x1b[0m\\x1f");
  EXPECT_EQ(to_xml_text("\xef\xbf\xbe\xef\xbf\xbf"), "\\xef\\xbf\\xbe\\xef\\xbf\\xbf");  // U+FFFE, U+FFFF
  EXPECT_EQ(to_xml_text("\xff<"), "\\xff&lt;");
  // Allowed: tab, newline, CR, DEL, C1 as UTF-8, other non-ASCII.
  EXPECT_EQ(to_xml_text("a\tb\nc\rd\x7f\xc2\x85\xc3\xa9"), "a\tb\nc\rd\x7f\xc2\x85\xc3\xa9");
}

TEST(ToXmlText, AttributesKeepWhitespaceAsCharacterReferences) {
  EXPECT_EQ(to_xml_text("a\tb\nc\r", true), "a&#9;b&#10;c&#13;");
}

}  // namespace
}  // namespace keel::harness
