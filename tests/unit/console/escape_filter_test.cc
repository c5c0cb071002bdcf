#include "src/console/escape_filter.h"

#include <string>

#include <gtest/gtest.h>

namespace keel::console {
namespace {

using Action = EscapeFilter::Action;

std::vector<std::byte> bytes(std::string_view text) {
  std::vector<std::byte> out;
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

std::string text(const std::vector<std::byte>& data) {
  std::string out;
  for (std::byte b : data) out.push_back(static_cast<char>(b));
  return out;
}

TEST(EscapeFilter, PassesOrdinaryBytesIncludingControlCharacters) {
  EscapeFilter filter;
  // Ctrl-C, Ctrl-Z, Ctrl-\, NUL and 0xff all belong to the guest.
  const std::string input = std::string("ls\r\x03\x1a\x1c", 7) + std::string(1, '\0') + "\xff";
  const auto result = filter.feed(bytes(input));
  EXPECT_EQ(text(result.pass), input);
  EXPECT_TRUE(result.actions.empty());
}

TEST(EscapeFilter, CtrlAXQuits) {
  EscapeFilter filter;
  const auto result = filter.feed(bytes("ab\x01x"));
  EXPECT_EQ(text(result.pass), "ab");
  EXPECT_EQ(result.actions, std::vector<Action>{Action::quit});
}

TEST(EscapeFilter, CtrlACtrlASendsOneCtrlA) {
  EscapeFilter filter;
  const auto result = filter.feed(bytes("\x01\x01x"));
  EXPECT_EQ(text(result.pass), "\x01x");  // the x after the literal Ctrl-A is data
  EXPECT_TRUE(result.actions.empty());
}

TEST(EscapeFilter, CtrlAHAndQuestionMarkAskForHelp) {
  EscapeFilter filter;
  const auto result = filter.feed(bytes("\x01h\x01?"));
  EXPECT_TRUE(result.pass.empty());
  EXPECT_EQ(result.actions, (std::vector<Action>{Action::help, Action::help}));
  EXPECT_NE(EscapeFilter::help_text().find("C-a x"), std::string_view::npos);
}

TEST(EscapeFilter, OtherKeysAfterCtrlAAreSwallowed) {
  EscapeFilter filter;
  const auto result = filter.feed(bytes("a\x01zb\x01X"));
  EXPECT_EQ(text(result.pass), "ab");
  EXPECT_TRUE(result.actions.empty());  // only lower-case x quits, as in QEMU
}

TEST(EscapeFilter, EscapeMaySpanReads) {
  EscapeFilter filter;
  auto first = filter.feed(bytes("q\x01"));
  EXPECT_EQ(text(first.pass), "q");
  EXPECT_TRUE(first.actions.empty());
  EXPECT_TRUE(filter.escape_pending());
  auto second = filter.feed(bytes("x"));
  EXPECT_TRUE(second.pass.empty());
  EXPECT_EQ(second.actions, std::vector<Action>{Action::quit});
  EXPECT_FALSE(filter.escape_pending());

  auto third = filter.feed(bytes("\x01"));
  auto fourth = filter.feed(bytes("\x01"));
  EXPECT_TRUE(third.pass.empty());
  EXPECT_EQ(text(fourth.pass), "\x01");
}

TEST(EscapeFilter, EmptyInput) {
  EscapeFilter filter;
  const auto result = filter.feed({});
  EXPECT_TRUE(result.pass.empty());
  EXPECT_TRUE(result.actions.empty());
}

}  // namespace
}  // namespace keel::console
