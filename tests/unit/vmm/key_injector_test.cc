#include "src/vmm/key_injector.h"

#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>

#include "keel/config_error.h"

namespace keel::vmm {
namespace {

using namespace std::chrono_literals;

TEST(KeyCombo, SplitsOnDash) {
  EXPECT_EQ(parse_key_combo("shift-a").keys, (std::vector<std::string>{"shift", "a"}));
  EXPECT_EQ(parse_key_combo("ret").keys, (std::vector<std::string>{"ret"}));
  EXPECT_EQ(parse_key_combo("ctrl-alt-delete").keys, (std::vector<std::string>{"ctrl", "alt", "delete"}));
  EXPECT_EQ(parse_key_combo("minus").keys, (std::vector<std::string>{"minus"}));
}

TEST(KeyCombo, RejectsEmptyParts) {
  for (const char* bad : {"", "-", "shift-", "-a", "a--b"}) {
    EXPECT_THROW(parse_key_combo(bad), ConfigError) << "'" << bad << "'";
  }
  EXPECT_THROW(parse_key_combos({"a", ""}), ConfigError);
  EXPECT_EQ(parse_key_combos({"a", "shift-b"}).size(), 2u);
}

struct Recorder {
  std::mutex lock;
  std::vector<std::pair<std::string, bool>> events;
  KeyInjector::InjectFn fn() {
    return [this](std::string_view key, bool pressed) {
      std::lock_guard guard(lock);
      events.emplace_back(std::string(key), pressed);
      return key != "bogus";
    };
  }
};

TEST(KeyInjector, PressesInOrderReleasesInReverse) {
  Recorder rec;
  KeyInjector injector(parse_key_combos({"shift-a", "ret"}), rec.fn(), 1ms);
  injector.start();
  injector.trigger();
  ASSERT_TRUE(injector.wait_done(5s));
  std::vector<std::pair<std::string, bool>> expected = {
      {"shift", true}, {"a", true}, {"a", false}, {"shift", false}, {"ret", true}, {"ret", false}};
  EXPECT_EQ(rec.events, expected);
}

TEST(KeyInjector, NothingBeforeTrigger) {
  Recorder rec;
  {
    KeyInjector injector(parse_key_combos({"a"}), rec.fn(), 1ms);
    injector.start();
    EXPECT_FALSE(injector.wait_done(30ms));
  }  // destroyed untriggered: must not hang or inject
  EXPECT_TRUE(rec.events.empty());
}

TEST(KeyInjector, DelayBetweenPressAndRelease) {
  Recorder rec;
  auto start = std::chrono::steady_clock::now();
  KeyInjector injector(parse_key_combos({"a"}), rec.fn(), 20ms);
  injector.start();
  injector.trigger();
  ASSERT_TRUE(injector.wait_done(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);
}

TEST(KeyInjector, UnknownKeysDoNotStopTheRest) {
  Recorder rec;
  KeyInjector injector(parse_key_combos({"bogus", "b"}), rec.fn(), 1ms);
  injector.start();
  injector.trigger();
  ASSERT_TRUE(injector.wait_done(5s));
  ASSERT_EQ(rec.events.size(), 4u);
  EXPECT_EQ(rec.events[2].first, "b");
}

TEST(KeyInjector, CancelStopsPromptly) {
  Recorder rec;
  auto start = std::chrono::steady_clock::now();
  {
    KeyInjector injector(parse_key_combos({"a", "b", "c"}), rec.fn(), 10s);
    injector.start();
    injector.trigger();
    std::this_thread::sleep_for(20ms);
  }  // destructor cancels mid-sleep
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  std::lock_guard guard(rec.lock);
  EXPECT_LE(rec.events.size(), 1u);
}

}  // namespace
TEST(KeyInjector, NoThreadBeforeStartAndATriggerBeforeStartIsKept) {
  Recorder rec;
  KeyInjector injector(parse_key_combos({"a"}), rec.fn(), 1ms);
  injector.trigger();
  EXPECT_FALSE(injector.wait_done(50ms));  // nothing plays without a thread
  injector.start();
  ASSERT_TRUE(injector.wait_done(5s));
  std::vector<std::pair<std::string, bool>> expected = {{"a", true}, {"a", false}};
  EXPECT_EQ(rec.events, expected);
}

TEST(KeyInjector, AFailingThreadStartHookFailsStartAndLeavesNoThread) {
  Recorder rec;
  KeyInjector injector(parse_key_combos({"a"}), rec.fn(), 1ms);
  EXPECT_THROW(injector.start([] { throw std::runtime_error("no filter"); }), std::runtime_error);
  injector.trigger();
  EXPECT_FALSE(injector.wait_done(50ms));
  std::lock_guard guard(rec.lock);
  EXPECT_TRUE(rec.events.empty());
}

}  // namespace keel::vmm
