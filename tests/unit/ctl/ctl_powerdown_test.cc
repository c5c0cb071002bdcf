// keel ctl powerdown --hard-stop-after (issue 10): the press, then waiting
// for the VM to stop, and quit when it does not in time. A scripted peer
// plays the VM.
#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include "src/ctl/ctl_command.h"
#include "tests/unit/ctl/fake_qmp_server.h"
#include "tests/unit/ctl/run_captured.h"

namespace keel::ctl {
namespace {

using namespace std::chrono_literals;
using testing::FakeQmpServer;
using testing::Outcome;
using testing::Peer;
using testing::run_captured;

Outcome run_powerdown(const std::string& path, const std::string& hard_stop_after) {
  CtlOptions options;
  options.qmp_path = path;
  options.command = "powerdown";
  options.timeout = "5s";
  options.hard_stop_after = hard_stop_after;
  return run_captured(options);
}

const char kPowerdownEvent[] =
    R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "POWERDOWN"})" "\r\n";
const char kShutdownEvent[] =
    R"({"timestamp": {"seconds": 3, "microseconds": 4}, "event": "SHUTDOWN", )"
    R"("data": {"guest": true, "reason": "guest-shutdown"}})" "\r\n";

TEST(CtlPowerdown, GuestThatPowersOffEndsWithStatusZeroAndNoQuit) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.send(kPowerdownEvent);
    peer.answer_next(Json::object());
    std::this_thread::sleep_for(100ms);  // the guest takes a moment
    peer.send(kShutdownEvent);
    peer.wait_for_close();
  });
  const Outcome outcome = run_powerdown(server.path(), "5s");
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err, "");
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1]["execute"], "system_powerdown");
}

TEST(CtlPowerdown, ConnectionClosingCountsAsTheVmExiting) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(Json::object());
    std::this_thread::sleep_for(100ms);
  });  // the script ends: the socket closes, as when QEMU exits
  const Outcome outcome = run_powerdown(server.path(), "5s");
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(CtlPowerdown, GuestThatIgnoresTheButtonIsStoppedWithQuitAfterTheTime) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(Json::object());
    peer.answer_next(Json::object());  // quit
    peer.wait_for_close();
  });
  const auto start = std::chrono::steady_clock::now();
  const Outcome outcome = run_powerdown(server.path(), "300ms");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 4s);
  EXPECT_EQ(outcome.status, kExitHardStop);
  EXPECT_EQ(outcome.err, "keel ctl: the VM did not power off within 300ms; stopped it with quit\n");
  ASSERT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.requests()[1]["execute"], "system_powerdown");
  EXPECT_EQ(server.requests()[2]["execute"], "quit");
}

TEST(CtlPowerdown, WithoutHardStopItOnlyPresses) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(Json::object());
    peer.wait_for_close();
  });
  const Outcome outcome = run_powerdown(server.path(), "");
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(CtlPowerdown, BadHardStopDurationIsAUsageError) {
  const Outcome outcome = run_powerdown("/nonexistent/keel.sock", "soon");
  EXPECT_EQ(outcome.status, kExitUsage);
  EXPECT_NE(outcome.err.find("--hard-stop-after"), std::string::npos) << outcome.err;
}

TEST(CtlPowerdownCommandLine, HardStopAfterBelongsToPowerdownAndTimeoutStaysCtls) {
  CLI::App app("test");
  CtlOptions options;
  add_ctl_subcommand(app, options);
  std::vector<std::string> argv{"ctl", "--qmp", "/run/vm.sock", "powerdown", "--hard-stop-after", "30s",
                                "--timeout", "2s"};
  std::vector<std::string> reversed(argv.rbegin(), argv.rend());
  app.parse(reversed);
  EXPECT_EQ(options.command, "powerdown");
  EXPECT_EQ(options.hard_stop_after, "30s");
  EXPECT_EQ(options.timeout, "2s");
}

}  // namespace
}  // namespace keel::ctl
