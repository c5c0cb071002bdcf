// --qmp / --qmp-fd / --name (src/cli/qmp_spec.h), on the command line and
// in a --config file.
#include "src/cli/qmp_spec.h"

#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "keel/config_error.h"
#include "tests/unit/cli/parse_test_support.h"

namespace keel::cli {
namespace {

using test_support::error_of;
using test_support::parse;

std::string error_text(std::string_view spec) {
  try {
    parse_qmp_spec(spec);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(QmpSpec, ServerOnWaitsUnlessWaitOff) {
  vmm::QmpSpec spec = parse_qmp_spec("unix:/tmp/q.sock,server=on,wait=off");
  EXPECT_EQ(spec.socket_path, std::filesystem::path("/tmp/q.sock"));
  EXPECT_FALSE(spec.wait_for_client);
  EXPECT_TRUE(spec.enabled());
  // QEMU's default for a server is wait=on.
  EXPECT_TRUE(parse_qmp_spec("unix:/tmp/q.sock,server=on").wait_for_client);
  EXPECT_TRUE(parse_qmp_spec("unix:/tmp/q.sock,server").wait_for_client);
  EXPECT_TRUE(parse_qmp_spec("unix:/tmp/q.sock,server=on,wait=on").wait_for_client);
  EXPECT_FALSE(parse_qmp_spec("unix:/tmp/q.sock,server,nowait").wait_for_client);
  EXPECT_FALSE(parse_qmp_spec("unix:/tmp/q.sock,wait=off,server=on").wait_for_client);
}

TEST(QmpSpec, BarePathListensWithoutWaiting) {
  const vmm::QmpSpec spec = parse_qmp_spec("unix:relative/q.sock");
  EXPECT_EQ(spec.socket_path, std::filesystem::path("relative/q.sock"));
  EXPECT_FALSE(spec.wait_for_client);
  EXPECT_TRUE(parse_qmp_spec("unix:/q,wait=on").wait_for_client);
}

TEST(QmpSpec, BadSpecsAreOneLineErrors) {
  EXPECT_EQ(error_text("tcp:localhost:4444"),
            "invalid --qmp 'tcp:localhost:4444': expected unix:PATH[,server=on][,wait=off] (keel serves QMP on unix "
            "sockets only)");
  EXPECT_EQ(error_text("unix:"), "invalid --qmp 'unix:': the socket path is empty");
  EXPECT_EQ(error_text("unix:,server=on"), "invalid --qmp 'unix:,server=on': the socket path is empty");
  EXPECT_EQ(error_text("unix:/q,server=off"),
            "invalid --qmp 'unix:/q,server=off': server=off (connecting to a client's socket) is not supported; keel "
            "only listens (server=on)");
  EXPECT_EQ(error_text("unix:/q,wait=maybe"),
            "invalid --qmp 'unix:/q,wait=maybe': unknown option 'wait=maybe' (expected server=on, wait=on or "
            "wait=off)");
  EXPECT_EQ(error_text("unix:/q,telnet=on"),
            "invalid --qmp 'unix:/q,telnet=on': unknown option 'telnet=on' (expected server=on, wait=on or wait=off)");
  EXPECT_EQ(error_text("unix:/q,"), "invalid --qmp 'unix:/q,': unknown option '' (expected server=on, wait=on or "
                                    "wait=off)");
  EXPECT_EQ(error_text("unix:/q,nowait=on"),
            "invalid --qmp 'unix:/q,nowait=on': unknown option 'nowait=on' (expected server=on, wait=on or wait=off)");
  const std::string long_path = "unix:/" + std::string(107, 'a');
  EXPECT_NE(error_text(long_path).find("longer than 107 bytes"), std::string::npos);
  EXPECT_EQ(error_text("unix:/" + std::string(106, 'a')), "(no error)");
}

TEST(QmpSpec, QmpFdMustBeAConnectedStreamSocket) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  EXPECT_NO_THROW(check_qmp_fd(pair[0]));
  int datagrams[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, datagrams), 0);
  EXPECT_THROW(check_qmp_fd(datagrams[0]), ConfigError);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  try {
    check_qmp_fd(pipe_fds[0]);
    ADD_FAILURE() << "a pipe was taken";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), "--qmp-fd " + std::to_string(pipe_fds[0]) + ": not a socket");
  }
  const int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr address{.sa_family = AF_UNIX, .sa_data = {}};
  ASSERT_EQ(bind(listener, &address, sizeof(sa_family_t)), 0);  // autobind: an abstract name
  ASSERT_EQ(listen(listener, 1), 0);
  EXPECT_THROW(check_qmp_fd(listener), ConfigError);
  EXPECT_THROW(check_qmp_fd(-1), ConfigError);
  for (int fd : {pair[0], pair[1], datagrams[0], datagrams[1], pipe_fds[0], pipe_fds[1], listener}) close(fd);
  EXPECT_THROW(check_qmp_fd(pair[0]), ConfigError);  // closed now
}

TEST(QmpFlags, CommandLine) {
  const ParseOutcome outcome = parse({"run", "--qmp", "unix:/tmp/k.sock,server=on,wait=off", "--name", "vm1"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_EQ(outcome.config->qmp.socket_path, std::filesystem::path("/tmp/k.sock"));
  EXPECT_FALSE(outcome.config->qmp.wait_for_client);
  EXPECT_EQ(outcome.config->qmp.connected_fd, -1);
  EXPECT_EQ(outcome.config->name, "vm1");

  const ParseOutcome none = parse({"run"});
  ASSERT_TRUE(none.config.has_value());
  EXPECT_FALSE(none.config->qmp.enabled());
  EXPECT_EQ(none.config->name, "");

  EXPECT_EQ(error_of({"run", "--qmp", "unix:/q,server=off"}),
            "invalid --qmp 'unix:/q,server=off': server=off (connecting to a client's socket) is not supported; keel "
            "only listens (server=on)");
  EXPECT_EQ(error_of({"run", "--qmp-fd", "999999"}), "--qmp-fd 999999: not an open file descriptor");
}

TEST(QmpFlags, QmpFdOnTheCommandLine) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  const ParseOutcome outcome = parse({"run", "--qmp-fd", std::to_string(pair[1])});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_EQ(outcome.config->qmp.connected_fd, pair[1]);
  EXPECT_TRUE(outcome.config->qmp.enabled());
  EXPECT_TRUE(outcome.config->qmp.socket_path.empty());
  close(pair[0]);
  close(pair[1]);
}

TEST(QmpFlags, ConfigFile) {
  char pattern[] = "/tmp/keel-qmp-config-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  const std::string file = dir + "/vm.json";
  std::ofstream(file) << R"({"qmp": "unix:/tmp/c.sock,server=on", "name": "from-file"})";
  const ParseOutcome outcome = parse({"run", "--config", file});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_EQ(outcome.config->qmp.socket_path, std::filesystem::path("/tmp/c.sock"));
  EXPECT_TRUE(outcome.config->qmp.wait_for_client);
  EXPECT_EQ(outcome.config->name, "from-file");

  // The flag overrides the file.
  const ParseOutcome overridden = parse({"run", "--config", file, "--qmp", "unix:/tmp/d.sock,server=on,wait=off"});
  ASSERT_TRUE(overridden.config.has_value()) << overridden.error;
  EXPECT_EQ(overridden.config->qmp.socket_path, std::filesystem::path("/tmp/d.sock"));
  EXPECT_FALSE(overridden.config->qmp.wait_for_client);

  // A bad value from the file names its JSON path.
  std::ofstream(file) << R"({"qmp": "unix:/q,server=off"})";
  const std::string error = error_of({"run", "--config", file});
  EXPECT_EQ(error.rfind("--config " + file + ": /qmp: invalid --qmp 'unix:/q,server=off'", 0), 0u) << error;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keel::cli
