#include "src/harness/console_watcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "keel/config_error.h"
#include "tests/support/fakes.h"

namespace keel::harness {
namespace {

using namespace std::chrono_literals;
using State = ConsoleWatcher::State;

class ConsoleWatcherTest : public ::testing::Test {
 protected:
  testing::FakeClock clock;
  std::vector<State> decisions;

  std::unique_ptr<ConsoleWatcher> make(std::vector<std::string> expect, std::vector<std::string> fail_on = {},
                                       std::optional<std::chrono::nanoseconds> timeout = {}) {
    auto watcher = std::make_unique<ConsoleWatcher>(
        ConsoleWatcher::Options{.expect = std::move(expect), .fail_on = std::move(fail_on), .timeout = timeout,
                                .keep_lines = ConsoleWatcher::kDefaultKeepLines},
        clock);
    watcher->set_on_decided([this](State s) { decisions.push_back(s); });
    return watcher;
  }
  static void feed(ConsoleWatcher& w, std::string_view text) { w.feed(std::as_bytes(std::span(text.data(), text.size()))); }
  static VmEnd powered_off() { return VmEnd{.kind = VmEndKind::guest_stopped, .exit_status = 0, .description = "power-off"}; }
};

TEST_F(ConsoleWatcherTest, ExpectationsAreMetInOrderAndAnnouncedOnce) {
  auto w = make({"Linux version", "Command line:", "RAMDISK:"});
  feed(*w, "Linux version 6.1\n");
  clock.advance(2s);
  feed(*w, "noise\nCommand line: console=ttyS0\n");
  EXPECT_EQ(w->state(), State::running);
  clock.advance(1s);
  feed(*w, "RAMDISK: [mem 0x1000]\nmore\n");
  EXPECT_EQ(w->state(), State::all_met);
  EXPECT_EQ(decisions, std::vector<State>{State::all_met});
  feed(*w, "Kernel panic\n");  // decided: nothing changes, nothing announced again
  EXPECT_EQ(decisions.size(), 1u);

  const HarnessResult r = w->finish(VmEnd{.kind = VmEndKind::stopped_by_harness, .exit_status = 0, .description = {}});
  EXPECT_EQ(r.reason, Reason::all_expectations_met);
  EXPECT_EQ(r.exit_status, 0);
  ASSERT_EQ(r.expectations.size(), 3u);
  EXPECT_EQ(r.expectations[0].match->line, "Linux version 6.1");
  EXPECT_EQ(r.expectations[0].match->line_number, 1u);
  EXPECT_EQ(r.expectations[0].match->at, 0s);
  EXPECT_EQ(r.expectations[1].match->line_number, 3u);
  EXPECT_EQ(r.expectations[1].match->at, 2s);
  EXPECT_EQ(r.expectations[2].match->line, "RAMDISK: [mem 0x1000]");
  EXPECT_EQ(r.expectations[2].match->at, 3s);
  EXPECT_FALSE(r.expectations[2].match->partial);
}

TEST_F(ConsoleWatcherTest, LaterExpectationSeenEarlyDoesNotCount) {
  auto w = make({"first", "second"});
  feed(*w, "second\nfirst\n");
  EXPECT_EQ(w->state(), State::running);
  feed(*w, "second\n");
  EXPECT_EQ(w->state(), State::all_met);
}

TEST_F(ConsoleWatcherTest, OneLineMeetsAtMostOneExpectation) {
  auto w = make({"a", "b"});
  feed(*w, "ab\n");
  EXPECT_EQ(w->state(), State::running);
  const HarnessResult r = w->finish(powered_off());
  EXPECT_TRUE(r.expectations[0].match.has_value());
  EXPECT_FALSE(r.expectations[1].match.has_value());
  EXPECT_EQ(r.reason, Reason::guest_exited_early);
  EXPECT_EQ(r.exit_status, kExitUnmet);
  EXPECT_EQ(r.first_unmet(), 1u);
}

TEST_F(ConsoleWatcherTest, FailurePatternTakesPrecedenceOnTheSameLine) {
  auto w = make({"panic"}, {"Kernel panic"});
  feed(*w, "Kernel panic - not syncing: VFS\n");
  EXPECT_EQ(w->state(), State::failed);
  EXPECT_EQ(decisions, std::vector<State>{State::failed});
  const HarnessResult r = w->finish(powered_off());
  EXPECT_EQ(r.reason, Reason::failure_matched);
  EXPECT_EQ(r.exit_status, kExitFailureMatched);
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->pattern, "Kernel panic");
  EXPECT_EQ(r.failure->pattern_index, 0u);
  EXPECT_EQ(r.failure->match.line, "Kernel panic - not syncing: VFS");
  EXPECT_FALSE(r.expectations[0].match);
}

TEST_F(ConsoleWatcherTest, FailurePatternsApplyAtAnyTimeAndNameWhichMatched) {
  auto w = make({"one", "two", "three"}, {"Oops", "BUG:"});
  feed(*w, "one\nBUG: soft lockup\ntwo\n");
  const HarnessResult r = w->finish(powered_off());
  EXPECT_EQ(r.reason, Reason::failure_matched);
  EXPECT_EQ(r.failure->pattern, "BUG:");
  EXPECT_EQ(r.failure->pattern_index, 1u);
  EXPECT_EQ(r.failure->match.line_number, 2u);
  EXPECT_TRUE(r.expectations[0].match);
  EXPECT_FALSE(r.expectations[1].match);
}

TEST_F(ConsoleWatcherTest, FirstDecisionWins) {
  auto w = make({"ready"}, {"panic"});
  feed(*w, "ready\npanic\n");
  EXPECT_EQ(w->state(), State::all_met);
  EXPECT_EQ(w->finish(powered_off()).reason, Reason::all_expectations_met);
}

TEST_F(ConsoleWatcherTest, ChunkedInputWithCrLfMatchesLikeWholeLines) {
  auto w = make({"^Command line: console=ttyS0$", "^x86/fpu:"});
  const std::string text = "junk\r\nCommand line: console=ttyS0\r\nx86/fpu: x87 FPU will use FXSAVE\r\n";
  for (size_t i = 0; i < text.size(); i += 3) feed(*w, std::string_view(text).substr(i, 3));
  EXPECT_EQ(w->state(), State::all_met);
  const HarnessResult r = w->finish(powered_off());
  EXPECT_EQ(r.expectations[0].match->line, "Command line: console=ttyS0");
  EXPECT_EQ(r.expectations[1].match->line_number, 3u);
}

TEST_F(ConsoleWatcherTest, PromptWithoutNewlineMeetsAnExpectation) {
  auto w = make({"login: "});
  feed(*w, "Debian GNU/Linux 12\n\nlogin: ");
  EXPECT_EQ(w->state(), State::all_met);
  const HarnessResult r = w->finish(powered_off());
  EXPECT_TRUE(r.expectations[0].match->partial);
  EXPECT_EQ(r.expectations[0].match->line, "login: ");
  EXPECT_EQ(r.expectations[0].match->line_number, 3u);
}

TEST_F(ConsoleWatcherTest, PartialLineDoesNotMatchEndAnchorOrWordBoundaryEarly) {
  auto w = make({"exit 1$", "done\\b"});
  feed(*w, "cmd exit 1");  // might still become "exit 127"
  EXPECT_EQ(w->state(), State::running);
  feed(*w, "27\n");
  EXPECT_EQ(w->state(), State::running);
  feed(*w, "cmd exit 1\n");
  EXPECT_EQ(w->state(), State::running);
  feed(*w, "done");
  EXPECT_EQ(w->state(), State::running);
  feed(*w, "ness\ndone\n");
  EXPECT_EQ(w->state(), State::all_met);
  const HarnessResult r = w->finish(powered_off());
  EXPECT_EQ(r.expectations[0].match->line_number, 2u);
  EXPECT_EQ(r.expectations[1].match->line_number, 4u);
}

TEST_F(ConsoleWatcherTest, RestOfALineThatMetAnExpectationEarlyMeetsNoOther) {
  auto w = make({"ready", "go"});
  feed(*w, "ready ");
  feed(*w, "to go\n");
  EXPECT_EQ(w->state(), State::running);
  feed(*w, "go\n");
  EXPECT_EQ(w->state(), State::all_met);
  const HarnessResult r = w->finish(powered_off());
  // The recorded line is the whole line once it ended.
  EXPECT_EQ(r.expectations[0].match->line, "ready to go");
  EXPECT_TRUE(r.expectations[0].match->partial);
  EXPECT_EQ(r.expectations[1].match->line_number, 2u);
}

TEST_F(ConsoleWatcherTest, FailureLaterInAPartlyMatchedLineStillCounts) {
  auto w = make({"mount", "login"}, {"failed"});
  feed(*w, "mount ");
  feed(*w, "failed\n");
  EXPECT_EQ(w->state(), State::failed);
  EXPECT_EQ(w->finish(powered_off()).failure->match.line, "mount failed");
}

TEST_F(ConsoleWatcherTest, LongPartialLinesWaitForTheirEnd) {
  auto w = make({"marker"});
  feed(*w, std::string(ConsoleWatcher::kMaxPartialMatchBytes, '.') + "marker");
  EXPECT_EQ(w->state(), State::running);
  feed(*w, "\n");
  EXPECT_EQ(w->state(), State::all_met);
}

TEST_F(ConsoleWatcherTest, PendingLineIsCheckedInFullAtTheEnd) {
  auto w = make({"bye$"});
  feed(*w, "bye");
  EXPECT_EQ(w->state(), State::running);
  const HarnessResult r = w->finish(powered_off());
  EXPECT_EQ(r.reason, Reason::all_expectations_met);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.last_lines.back(), "bye");
}

TEST_F(ConsoleWatcherTest, TimeoutAfterTheDeadline) {
  auto w = make({"Linux", "login:"}, {}, 30s);
  ASSERT_TRUE(w->deadline());
  EXPECT_EQ(*w->deadline(), 30s);
  feed(*w, "Linux version\n");
  clock.advance(29s);
  EXPECT_FALSE(w->check_deadline());
  EXPECT_EQ(w->state(), State::running);
  clock.advance(1s);
  EXPECT_TRUE(w->check_deadline());
  EXPECT_FALSE(w->check_deadline());  // once
  EXPECT_EQ(w->state(), State::timed_out);
  EXPECT_EQ(decisions, std::vector<State>{State::timed_out});
  feed(*w, "login:\n");  // too late
  const HarnessResult r = w->finish(VmEnd{.kind = VmEndKind::stopped_by_harness, .exit_status = 0, .description = {}});
  EXPECT_EQ(r.reason, Reason::timeout);
  EXPECT_EQ(r.exit_status, kExitTimeout);
  EXPECT_EQ(r.first_unmet(), 1u);
  EXPECT_EQ(r.duration, 30s);
  EXPECT_EQ(r.timeout, 30s);
}

TEST_F(ConsoleWatcherTest, PendingLineCountsAtTheDeadline) {
  auto w = make({"\\$ $"}, {}, 5s);
  feed(*w, "root@guest:~$ ");
  EXPECT_EQ(w->state(), State::running);  // `$` does not match a line still being written
  clock.advance(5s);
  EXPECT_TRUE(w->check_deadline());
  EXPECT_EQ(w->state(), State::all_met);
  EXPECT_EQ(decisions, std::vector<State>{State::all_met});
}

TEST_F(ConsoleWatcherTest, NoDeadlineWithoutTimeout) {
  auto w = make({"x"});
  EXPECT_FALSE(w->deadline());
  clock.advance(1000h);
  EXPECT_FALSE(w->check_deadline());
}

TEST_F(ConsoleWatcherTest, DeadlineAfterADecisionChangesNothing) {
  auto w = make({"x"}, {}, 1s);
  feed(*w, "x\n");
  clock.advance(2s);
  EXPECT_FALSE(w->check_deadline());
  EXPECT_EQ(w->finish(powered_off()).reason, Reason::all_expectations_met);
}

TEST_F(ConsoleWatcherTest, VmErrorAndInterruptBeforeExpectations) {
  {
    auto w = make({"never"});
    feed(*w, "x86/fpu: x87 FPU will use FXSAVE\n");
    const HarnessResult r = w->finish(VmEnd{.kind = VmEndKind::vm_error, .exit_status = 1,
                                            .description = "KVM emulation failure"});
    EXPECT_EQ(r.reason, Reason::vm_error);
    EXPECT_EQ(r.exit_status, kExitVmError);
    EXPECT_EQ(r.vm_end.description, "KVM emulation failure");
  }
  {
    auto w = make({"never"});
    const HarnessResult r = w->finish(VmEnd{.kind = VmEndKind::interrupted, .exit_status = 130, .description = "SIGINT"});
    EXPECT_EQ(r.reason, Reason::interrupted);
    EXPECT_EQ(r.exit_status, 130);
  }
}

TEST_F(ConsoleWatcherTest, WithoutExpectationsTheGuestsStatusIsKept) {
  auto w = make({}, {"panic"});
  feed(*w, "all fine\n");
  const HarnessResult r = w->finish(VmEnd{.kind = VmEndKind::guest_stopped, .exit_status = 7, .description = "debug exit 7"});
  EXPECT_EQ(r.reason, Reason::guest_exited);
  EXPECT_EQ(r.exit_status, 7);
  EXPECT_TRUE(decisions.empty());
}

TEST_F(ConsoleWatcherTest, KeepsTheLastLines) {
  auto w = make({"never"});
  for (int i = 0; i < 50; ++i) feed(*w, "line " + std::to_string(i) + "\n");
  feed(*w, "partial");
  const HarnessResult r = w->finish(powered_off());
  ASSERT_EQ(r.last_lines.size(), ConsoleWatcher::kDefaultKeepLines);
  EXPECT_EQ(r.last_lines.front(), "line 31");
  EXPECT_EQ(r.last_lines.back(), "partial");
}

TEST_F(ConsoleWatcherTest, InvalidRegexIsAConfigErrorNamingFlagAndPattern) {
  try {
    make({"ok", "("});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("invalid --expect regex '(': ", 0), 0u) << error.what();
  }
  try {
    make({}, {"[z-a]"});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("invalid --fail-on regex '[z-a]': ", 0), 0u) << error.what();
  }
  EXPECT_THROW(make({""}), ConfigError);
}

TEST_F(ConsoleWatcherTest, LineSinkSeesEveryLineWithItsStartTime) {
  auto w = make({});
  std::vector<std::pair<std::string, std::chrono::nanoseconds>> seen;
  w->set_line_sink([&](std::string_view line, std::chrono::nanoseconds started) { seen.emplace_back(line, started); });
  clock.advance(1s);
  feed(*w, "a");
  clock.advance(1s);
  feed(*w, "b\nc");
  clock.advance(1s);
  w->finish(powered_off());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("ab"), std::chrono::nanoseconds(1s)));
  EXPECT_EQ(seen[1], std::make_pair(std::string("c"), std::chrono::nanoseconds(2s)));
}

TEST_F(ConsoleWatcherTest, HostileBytesNeverThrow) {
  auto w = make({"(a|b)*c", ".*x$"}, {"Kernel panic"});
  std::string garbage;
  for (int i = 0; i < 3 * 4096; ++i) garbage.push_back(static_cast<char>(i % 2 ? 'a' : 'b'));
  garbage += std::string("\0\xff\x1b[2J\r\r\n", 9);
  garbage += std::string(4096, 'x');
  feed(*w, garbage);
  EXPECT_EQ(w->state(), State::running);
  EXPECT_NO_THROW(w->finish(powered_off()));
}

TEST_F(ConsoleWatcherTest, FeedAfterFinishIsIgnored) {
  auto w = make({"x"});
  w->finish(powered_off());
  feed(*w, "x\n");
  EXPECT_TRUE(decisions.empty());
}

TEST_F(ConsoleWatcherTest, ConcurrentFeedersAnnounceExactlyOnce) {
  std::atomic<int> announced{0};
  ConsoleWatcher w(ConsoleWatcher::Options{.expect = {"go"}, .fail_on = {}, .timeout = {}, .keep_lines = 20}, clock);
  w.set_on_decided([&](State) { ++announced; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) feed(w, "go\n");
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(announced.load(), 1);
  EXPECT_EQ(w.state(), State::all_met);
}

}  // namespace
}  // namespace keel::harness
