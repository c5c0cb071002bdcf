#include "src/ctl/ctl_command.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include "tests/unit/ctl/fake_qmp_server.h"
#include "tests/unit/ctl/run_captured.h"

namespace keel::ctl {
namespace {

using namespace std::chrono_literals;
using testing::FakeQmpServer;
using testing::kGreeting;
using testing::Peer;

using testing::Outcome;
using testing::run_captured;

CtlOptions options_for(const std::string& path, const std::string& command, const std::string& timeout = "5s") {
  CtlOptions options;
  options.qmp_path = path;
  options.command = command;
  options.timeout = timeout;
  return options;
}

bool is_one_line(const std::string& text) { return !text.empty() && text.find('\n') == text.size() - 1; }

const Json kRunning = Json::parse(R"({"status": "running", "singlestep": false, "running": true})");

TEST(CtlCommand, StatusAsksQueryStatusAndPrintsTheState) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(kRunning);
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "status"));
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "running\n");
  EXPECT_EQ(outcome.err, "");
  const std::vector<Json>& requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["execute"], "qmp_capabilities");
  EXPECT_FALSE(requests[0].contains("arguments"));
  EXPECT_EQ(requests[1]["execute"], "query-status");
  EXPECT_TRUE(requests[1].contains("id"));
  EXPECT_NE(requests[1]["id"], requests[0]["id"]);
}

TEST(CtlCommand, JsonPrintsTheReturnValueOnOneLine) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(Json::parse(R"({"status": "paused", "singlestep": false, "running": false})"));
    peer.wait_for_close();
  });
  CtlOptions options = options_for(server.path(), "status");
  options.json = true;
  const Outcome outcome = run_captured(options);
  EXPECT_EQ(outcome.status, kExitOk);
  EXPECT_EQ(outcome.out, "{\"status\":\"paused\",\"singlestep\":false,\"running\":false}\n");
}

struct ActionCase {
  const char* command;
  const char* qmp_command;
};

class CtlAction : public ::testing::TestWithParam<ActionCase> {};

TEST_P(CtlAction, SendsItsQmpCommandAndPrintsNothing) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(Json::object());
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), GetParam().command));
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "");
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1]["execute"], GetParam().qmp_command);
  EXPECT_FALSE(server.requests()[1].contains("arguments"));
}

TEST_P(CtlAction, JsonPrintsTheEmptyReturn) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(Json::object());
    peer.wait_for_close();
  });
  CtlOptions options = options_for(server.path(), GetParam().command);
  options.json = true;
  EXPECT_EQ(run_captured(options).out, "{}\n");
}

INSTANTIATE_TEST_SUITE_P(Commands, CtlAction,
                         ::testing::Values(ActionCase{"pause", "stop"}, ActionCase{"resume", "cont"},
                                           ActionCase{"powerdown", "system_powerdown"},
                                           ActionCase{"reset", "system_reset"}, ActionCase{"quit", "quit"}),
                         [](const auto& info) { return std::string(info.param.command); });

TEST(CtlCommand, SendKeySendsOneCommandPerCombo) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(Json::object());
    peer.answer_next(Json::object());
    peer.wait_for_close();
  });
  CtlOptions options = options_for(server.path(), "send-key");
  options.keys = "ctrl-alt-delete,0x1c";
  const Outcome outcome = run_captured(options);
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  ASSERT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.requests()[1]["execute"], "send-key");
  EXPECT_EQ(server.requests()[1]["arguments"], Json::parse(R"({"keys": [{"type": "qcode", "data": "ctrl"},
      {"type": "qcode", "data": "alt"}, {"type": "qcode", "data": "delete"}]})"));
  EXPECT_EQ(server.requests()[2]["arguments"], Json::parse(R"({"keys": [{"type": "number", "data": 28}]})"));
}

const Json kStats = Json::parse(R"({"ranges": [
    {"bus": "pio", "base": 96, "length": 1, "device": "i8042 data port", "exits": 4, "total-ns": 4000, "mean-ns": 1000},
    {"bus": "pio", "base": 1016, "length": 8, "device": "COM1 UART", "exits": 10, "total-ns": 9000000,
     "mean-ns": 900000}],
  "exit-reasons": [{"reason": "io", "exits": 14}], "vcpus": [{"cpu-index": 0, "exits": 14, "device-ns": 9004000}]})");

TEST(CtlCommand, StatsPrintsASortedTable) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(kStats);
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "stats"));
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out,
            "bus                 base     length        exits     total ms    mean ns  device\n"
            "pio                0x3f8        0x8           10        9.000     900000  COM1 UART\n"
            "pio                 0x60        0x1            4        0.004       1000  i8042 data port\n"
            "exits by reason: io 14\n"
            "vcpu 0: 14 exits, 9.004 ms in device handlers\n");
  EXPECT_EQ(server.requests()[1]["execute"], "x-keel-stats");
}

TEST(CtlCommand, StatsJsonIsTheRawReply) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(kStats);
    peer.wait_for_close();
  });
  CtlOptions options = options_for(server.path(), "stats");
  options.json = true;
  const Outcome outcome = run_captured(options);
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, kStats.dump() + "\n");
}

TEST(CtlCommand, StatsOfAnotherShapeIsAnError) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.answer_next(Json::parse(R"({"exits": 3})"));
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "stats"));
  EXPECT_EQ(outcome.status, kExitVmError);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err, "keel ctl: x-keel-stats: the reply has no 'ranges'\n");
}

TEST(CtlCommand, ErrorReplyExitsOneWithClassAndDesc) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    const Json request = peer.read_request();
    peer.send(Json{{"error", {{"class", "CommandNotFound"}, {"desc", "The command x-keel-stats has not been found"}}},
                   {"id", request["id"]}}
                  .dump());
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "stats"));
  EXPECT_EQ(outcome.status, kExitVmError);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err, "keel ctl: CommandNotFound: The command x-keel-stats has not been found\n");
}

TEST(CtlCommand, SendKeyStopsAtTheFirstError) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    const Json request = peer.read_request();
    peer.send(Json{{"error", {{"class", "GenericError"}, {"desc", "Parameter 'keys.0' does not accept value 'nokey'"}}},
                   {"id", request["id"]}}
                  .dump());
    peer.wait_for_close();
  });
  CtlOptions options = options_for(server.path(), "send-key");
  options.keys = "nokey,a";
  const Outcome outcome = run_captured(options);
  EXPECT_EQ(outcome.status, kExitVmError);
  EXPECT_EQ(outcome.err, "keel ctl: GenericError: Parameter 'keys.0' does not accept value 'nokey'\n");
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(CtlCommand, EventsAndOtherRepliesBeforeTheReplyAreSkipped) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    const Json request = peer.read_request();
    // Two events, a reply to someone else and ours, all in one write.
    peer.send(R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"})"
              "\r\n"
              R"({"timestamp": {"seconds": 1, "microseconds": 3}, "event": "RESUME", "data": {"status": "running"}})"
              R"({"return": {"status": "wrong"}, "id": "other"})" +
              Json{{"return", kRunning}, {"id", request["id"]}}.dump());
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "status"));
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "running\n");
}

TEST(CtlCommand, GreetingAndRepliesSplitAcrossReads) {
  FakeQmpServer server([](Peer& peer) {
    const auto trickle = [&](std::string_view text) {
      for (char c : text) {
        peer.send(std::string_view(&c, 1));
        std::this_thread::sleep_for(100us);
      }
    };
    trickle(kGreeting);
    Json request = peer.read_request();
    trickle(Json{{"return", Json::object()}, {"id", request["id"]}}.dump());
    request = peer.read_request();
    trickle(R"({"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 0}})" +
            Json{{"return", {{"status", "paus\"ed"}}}, {"id", request["id"]}}.dump());
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "status"));
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "paus\"ed\n");
}

TEST(CtlCommand, GreetingAndCapabilitiesReplyInOneWrite) {
  FakeQmpServer server([](Peer& peer) {
    // The client's first id is 1: answer it before it is even asked.
    peer.send(std::string(kGreeting) + R"({"return": {}, "id": 1})");
    EXPECT_EQ(peer.read_request()["execute"], "qmp_capabilities");
    peer.answer_next(kRunning);
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "status"));
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "running\n");
}

TEST(CtlCommand, GarbageIsAOneLineFailure) {
  FakeQmpServer server([](Peer& peer) {
    peer.send("HTTP/1.1 400 Bad Request\r\n\r\n");
    peer.wait_for_close();
  });
  const auto start = std::chrono::steady_clock::now();
  const Outcome outcome = run_captured(options_for(server.path(), "status"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_TRUE(is_one_line(outcome.err)) << outcome.err;
  EXPECT_NE(outcome.err.find("not a QMP message: 'HTTP/1.1'"), std::string::npos) << outcome.err;
}

TEST(CtlCommand, NonQmpJsonGreetingIsRefused) {
  FakeQmpServer server([](Peer& peer) {
    peer.send(R"({"hello": "world"})");
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "status"));
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_NE(outcome.err.find("not a QMP greeting"), std::string::npos) << outcome.err;
}

TEST(CtlCommand, EndlessNestingIsAFailureNotAHang) {
  FakeQmpServer server([](Peer& peer) {
    peer.send(std::string(5000, '['));
    peer.wait_for_close();
  });
  const Outcome outcome = run_captured(options_for(server.path(), "status"));
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_TRUE(is_one_line(outcome.err)) << outcome.err;
}

TEST(CtlCommand, NoGreetingTimesOut) {
  FakeQmpServer server([](Peer& peer) { peer.wait_for_close(); });
  const auto start = std::chrono::steady_clock::now();
  const Outcome outcome = run_captured(options_for(server.path(), "status", "300ms"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_EQ(outcome.err, "keel ctl: " + server.path() +
                             ": timed out waiting for the QMP greeting (is another client connected?) "
                             "(--timeout 300ms)\n");
}

TEST(CtlCommand, ServerThatNeverAnswersTimesOut) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.send(R"({"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 0}})");
    peer.wait_for_close();
  });
  const auto start = std::chrono::steady_clock::now();
  const Outcome outcome = run_captured(options_for(server.path(), "pause", "400ms"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_EQ(outcome.err, "keel ctl: " + server.path() + ": timed out waiting for the reply to 'stop' (--timeout 400ms)\n");
}

TEST(CtlCommand, ConnectionClosedBeforeTheReply) {
  FakeQmpServer server([](Peer& peer) {
    peer.greet_and_negotiate();
    peer.read_request();
    peer.send(R"({"return": {"sta)");  // then the socket closes
  });
  const Outcome outcome = run_captured(options_for(server.path(), "status"));
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_EQ(outcome.err,
            "keel ctl: " + server.path() + ": connection closed while waiting for the reply to 'query-status'\n");
}

TEST(CtlCommand, MissingSocketIsOneLineExitThree) {
  const Outcome outcome = run_captured(options_for("/nonexistent/keel.sock", "status"));
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_EQ(outcome.err, "keel ctl: --qmp '/nonexistent/keel.sock': No such file or directory\n");
  EXPECT_EQ(outcome.out, "");
}

TEST(CtlCommand, RegularFileIsNotASocket) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("keel-ctl-file-" + std::to_string(getpid()))).string();
  std::ofstream(path) << "x";
  const Outcome outcome = run_captured(options_for(path, "status"));
  std::filesystem::remove(path);
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_EQ(outcome.err, "keel ctl: --qmp '" + path + "': not a unix socket\n");
}

TEST(CtlCommand, StaleSocketIsConnectionRefused) {
  std::string path;
  {
    FakeQmpServer server([](Peer&) {});
    path = server.path();
  }
  // Leave a socket file nobody listens on, as a crashed VM would.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  close(fd);
  const Outcome outcome = run_captured(options_for(path, "status"));
  std::filesystem::remove(path);
  EXPECT_EQ(outcome.status, kExitUnreachable);
  EXPECT_NE(outcome.err.find("Connection refused (no VM is listening: a stale socket?)"), std::string::npos)
      << outcome.err;
}

TEST(CtlCommand, UsageErrorsExitTwo) {
  Outcome outcome = run_captured(options_for("/tmp/x.sock", "status", "soon"));
  EXPECT_EQ(outcome.status, kExitUsage);
  EXPECT_TRUE(is_one_line(outcome.err)) << outcome.err;
  EXPECT_NE(outcome.err.find("--timeout"), std::string::npos) << outcome.err;

  outcome = run_captured(options_for(std::string(200, 'x'), "status"));
  EXPECT_EQ(outcome.status, kExitUsage);
  EXPECT_NE(outcome.err.find("longer than 107 bytes"), std::string::npos) << outcome.err;

  CtlOptions options = options_for("/nonexistent/keel.sock", "send-key");
  options.keys = "ctrl--a";
  outcome = run_captured(options);
  EXPECT_EQ(outcome.status, kExitUsage);  // before any connection
  EXPECT_EQ(outcome.err,
            "keel ctl: invalid send-key 'ctrl--a': bad key '' (expected QEMU key names such as a, ret, "
            "ctrl-alt-delete or 0x1c, combos separated by commas)\n");
}

// The CLI11 registration `keel` uses (src/cli adds it to its app).
TEST(CtlCommandLine, ParsesOptionsOnEitherSideOfTheCommand) {
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"ctl", "--qmp", "/run/vm.sock", "--json", "--timeout", "2s", "send-key", "ctrl-c"},
        std::vector<std::string>{"ctl", "send-key", "ctrl-c", "--qmp", "/run/vm.sock", "--json", "--timeout", "2s"}}) {
    CLI::App app("test");
    CtlOptions options;
    add_ctl_subcommand(app, options);
    std::vector<std::string> reversed(argv.rbegin(), argv.rend());
    app.parse(reversed);  // CLI11 takes the vector back to front
    EXPECT_EQ(options.command, "send-key");
    EXPECT_EQ(options.keys, "ctrl-c");
    EXPECT_EQ(options.qmp_path, "/run/vm.sock");
    EXPECT_TRUE(options.json);
    EXPECT_EQ(options.timeout, "2s");
  }
}

TEST(CtlCommandLine, RefusesMissingPiecesAndUnknownCommands) {
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"ctl", "status"}, std::vector<std::string>{"ctl", "--qmp", "x"},
        std::vector<std::string>{"ctl", "--qmp", "x", "send-key"},
        std::vector<std::string>{"ctl", "--qmp", "x", "explode"}}) {
    CLI::App app("test");
    CtlOptions options;
    add_ctl_subcommand(app, options);
    std::vector<std::string> reversed(argv.rbegin(), argv.rend());
    EXPECT_THROW(app.parse(reversed), CLI::ParseError) << argv.back();
  }
}

}  // namespace
}  // namespace keel::ctl
