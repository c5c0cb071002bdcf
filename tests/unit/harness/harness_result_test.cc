#include "src/harness/harness_result.h"

#include <gtest/gtest.h>

#include "result_fixtures.h"

namespace keel::harness {
namespace {

using namespace std::chrono_literals;

TEST(ExitStatus, EachReasonHasItsOwnStatus) {
  EXPECT_EQ(exit_status_for(Reason::all_expectations_met, 99), 0);
  EXPECT_EQ(exit_status_for(Reason::vm_error, 0), 1);
  EXPECT_EQ(exit_status_for(Reason::guest_exited_early, 0), 2);
  EXPECT_EQ(exit_status_for(Reason::failure_matched, 0), 3);
  EXPECT_EQ(exit_status_for(Reason::timeout, 0), 4);
  // The guest's (or the signal's) own status when there was nothing to wait for.
  EXPECT_EQ(exit_status_for(Reason::guest_exited, 0), 0);
  EXPECT_EQ(exit_status_for(Reason::guest_exited, 42), 42);
  EXPECT_EQ(exit_status_for(Reason::interrupted, 130), 130);
}

TEST(ExitStatus, OnlyPassingReasonsGiveZero) {
  for (Reason reason : {Reason::failure_matched, Reason::timeout, Reason::guest_exited_early, Reason::vm_error}) {
    EXPECT_NE(exit_status_for(reason, 0), 0) << reason_name(reason);
  }
}

TEST(Summary, TimeoutNamesTheUnmetExpectationAndLastLines) {
  EXPECT_EQ(summary_line(fixtures::timed_out()),
            "keel: timeout after 30s waiting for expectation 2/3 'login:'; last console lines: "
            "Linux version 6.1.0 | Run /init as init process");
}

TEST(Summary, AllMet) { EXPECT_EQ(summary_line(fixtures::all_met()), "keel: all 2 expectations met in 27.3s"); }

TEST(Summary, FailureNamesPatternLineAndProgress) {
  HarnessResult r = fixtures::timed_out();
  r.reason = Reason::failure_matched;
  r.exit_status = kExitFailureMatched;
  r.failure = FailureResult{.pattern = "Kernel panic", .pattern_index = 0,
                            .match = fixtures::line("Kernel panic - not syncing: VFS", 7, 4250ms)};
  r.last_lines.push_back("Kernel panic - not syncing: VFS");
  EXPECT_EQ(summary_line(r, 1),
            "keel: --fail-on 'Kernel panic' matched console line 7 at 4.25s: 'Kernel panic - not syncing: VFS'; "
            "1/3 expectations met; last console lines: Kernel panic - not syncing: VFS");
}

TEST(Summary, GuestStoppedEarlyAndVmError) {
  HarnessResult r = fixtures::timed_out();
  r.reason = Reason::guest_exited_early;
  r.duration = 5100ms;
  r.vm_end = VmEnd{.kind = VmEndKind::guest_stopped, .exit_status = 0, .description = "power-off"};
  EXPECT_EQ(summary_line(r, 0),
            "keel: guest stopped (power-off) after 5.1s before expectation 2/3 'login:' was met; "
            "last console lines: (none)");
  r.reason = Reason::vm_error;
  r.vm_end = VmEnd{.kind = VmEndKind::vm_error, .exit_status = 1, .description = "KVM emulation failure"};
  EXPECT_EQ(summary_line(r, 1),
            "keel: VM error (KVM emulation failure) after 5.1s before expectation 2/3 'login:' was met; "
            "last console lines: Run /init as init process");
}

TEST(Summary, IsOneLineWhateverTheConsoleHeld) {
  HarnessResult r = fixtures::timed_out();
  static constexpr char kLine[] = "a\nb\rc\0d\x1b[2J\xff";
  r.last_lines = {std::string(kLine, sizeof(kLine) - 1)};
  r.expectations[1].pattern = "x\ny";
  const std::string s = summary_line(r);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.find('\r'), std::string::npos);
  EXPECT_EQ(s.find('\x1b'), std::string::npos);
  EXPECT_NE(s.find("'x\\x0ay'"), std::string::npos) << s;
  EXPECT_NE(s.find("a\\x0ab\\x0dc\\x00d\\x1b[2J\\xff"), std::string::npos) << s;
}

TEST(Summary, GuestExitedWithoutExpectations) {
  HarnessResult r;
  r.reason = Reason::guest_exited;
  r.exit_status = 3;
  r.duration = 2s;
  r.vm_end = VmEnd{.kind = VmEndKind::guest_stopped, .exit_status = 3, .description = "debug exit 3"};
  EXPECT_EQ(summary_line(r), "keel: guest stopped (debug exit 3) after 2s with status 3, no --fail-on pattern matched");
}

}  // namespace
}  // namespace keel::harness
