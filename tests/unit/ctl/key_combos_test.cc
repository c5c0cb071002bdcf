#include "src/ctl/key_combos.h"

#include <gtest/gtest.h>

namespace keel::ctl {
namespace {

TEST(KeyCombos, CombosAndKeysBecomeQmpKeyLists) {
  const std::vector<Json> combos = parse_key_combos("ctrl-alt-delete,a,shift_r-0x2a,kp_add");
  ASSERT_EQ(combos.size(), 4u);
  EXPECT_EQ(combos[0], Json::parse(R"([{"type": "qcode", "data": "ctrl"}, {"type": "qcode", "data": "alt"},
                                       {"type": "qcode", "data": "delete"}])"));
  EXPECT_EQ(combos[1], Json::parse(R"([{"type": "qcode", "data": "a"}])"));
  EXPECT_EQ(combos[2], Json::parse(R"([{"type": "qcode", "data": "shift_r"}, {"type": "number", "data": 42}])"));
  EXPECT_EQ(combos[3], Json::parse(R"([{"type": "qcode", "data": "kp_add"}])"));
}

TEST(KeyCombos, BadSpellingIsAUsageErrorNamingTheKey) {
  for (const char* text : {"", "a,", ",a", "a--b", "-a", "a-", "Ctrl", "a b", "0x", "0x0", "0x10000", "0xzz",
                           "é"}) {
    try {
      parse_key_combos(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const CtlFailure& e) {
      EXPECT_EQ(e.status(), kExitUsage);
      EXPECT_NE(std::string(e.what()).find(std::string("invalid send-key '") + text + "'"), std::string::npos)
          << e.what();
    }
  }
}

TEST(KeyCombos, LimitsAreEnforced) {
  std::string held = "a";
  for (size_t i = 1; i < kMaxKeysPerCombo; ++i) held += "-a";
  EXPECT_EQ(parse_key_combos(held)[0].size(), kMaxKeysPerCombo);
  EXPECT_THROW(parse_key_combos(held + "-a"), CtlFailure);

  std::string typed = "a";
  for (size_t i = 1; i < kMaxCombos; ++i) typed += ",a";
  EXPECT_EQ(parse_key_combos(typed).size(), kMaxCombos);
  EXPECT_THROW(parse_key_combos(typed + ",a"), CtlFailure);
}

}  // namespace
}  // namespace keel::ctl
