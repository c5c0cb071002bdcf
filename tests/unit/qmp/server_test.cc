#include "src/qmp/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"

#include "keel/config_error.h"
#include "src/sockets/unix_listener.h"
#include "src/vmm/loop/event_loop.h"

namespace keel::qmp {
namespace {

using namespace std::chrono_literals;
using keel::sockets::open_unix_listener;

using keel::testing::eventually;

class FixedClock final : public Clock {
 public:
  std::chrono::nanoseconds monotonic() const noexcept override { return 1s; }
  std::chrono::nanoseconds realtime() const noexcept override { return 1700000000s + 5us; }
};

// The test's end of a QMP connection: blocking writes, reads with a deadline.
class TestClient {
 public:
  explicit TestClient(int fd) : fd_(fd) {}
  ~TestClient() { close_now(); }
  void close_now() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  void send_text(std::string_view text) {
    while (!text.empty()) {
      const ssize_t sent = ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
      ASSERT_GT(sent, 0) << std::strerror(errno);
      text.remove_prefix(static_cast<size_t>(sent));
    }
  }
  // One line without its '\n', or "" on timeout or EOF.
  std::string read_line(std::chrono::milliseconds limit = 5s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (true) {
      if (const size_t newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left <= 0ms) return "";
      pollfd ready{fd_, POLLIN, 0};
      if (poll(&ready, 1, static_cast<int>(left.count())) <= 0) return "";
      char chunk[65536];
      const ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) return "";
      buffer_.append(chunk, static_cast<size_t>(got));
    }
  }
  Json read_json(std::chrono::milliseconds limit = 5s) {
    const std::string line = read_line(limit);
    if (line.empty()) return Json();
    return Json::parse(line);
  }
  // True once the server closed the connection (all data read first).
  bool sees_eof(std::chrono::milliseconds limit = 5s) {
    while (!read_line(limit).empty()) {
    }
    pollfd ready{fd_, POLLIN, 0};
    if (poll(&ready, 1, static_cast<int>(limit.count())) <= 0) return false;
    char byte;
    return recv(fd_, &byte, 1, MSG_DONTWAIT) == 0;
  }
  void negotiate() {
    ASSERT_TRUE(read_json().contains("QMP"));
    send_text(R"({"execute":"qmp_capabilities"})");
    ASSERT_EQ(read_json(), Json::parse(R"({"return":{}})"));
  }

 private:
  int fd_;
  std::string buffer_;
};

class QmpServerTest : public ::testing::Test {
 protected:
  QmpServerTest() {
    add_core_commands(registry_, VersionInfo{7, 2, 0, "keel test"});
    // Like `stop`: the event is emitted from inside the handler, so it must
    // reach the client before the reply, without a deadlock.
    registry_.add("x-stop", {}, [this](const Json&) -> CommandResult {
      server_->emit_event("STOP");
      return Json::object();
    });
    loop_.start();
  }
  ~QmpServerTest() override {
    server_.reset();
    loop_.stop();
    std::filesystem::remove(socket_path_);
  }
  void make_server(QmpServer::Limits limits = {}) {
    server_ = std::make_unique<QmpServer>(loop_, registry_, VersionInfo{7, 2, 0, "keel test"}, clock_, limits);
  }
  TestClient connect_pair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server_->serve_connected(fds[0]);
    return TestClient(fds[1]);
  }
  void listen_unix() {
    server_->serve_listener(open_unix_listener(socket_path_, "QMP socket"), socket_path_);
  }
  TestClient connect_unix() {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path_.c_str(), sizeof address.sun_path - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
    return TestClient(fd);
  }

  std::string socket_path_ =
      (std::filesystem::temp_directory_path() / ("keel-qmp-test-" + std::to_string(getpid()) + ".sock")).string();
  CommandRegistry registry_;
  FixedClock clock_;
  vmm::EventLoop loop_;
  std::unique_ptr<QmpServer> server_;
};

TEST_F(QmpServerTest, ConnectedFdGetsGreetingAndReplies) {
  make_server();
  TestClient client = connect_pair();
  EXPECT_EQ(client.read_line(),
            R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "keel test"}, )"
            R"("capabilities": []}})");
  client.send_text(R"({"execute":"query-version","id":1})");
  EXPECT_EQ(client.read_json()["error"]["class"], "CommandNotFound");
  client.send_text("{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-version\",\"id\":\"a\"}\n{\"exec");
  EXPECT_EQ(client.read_json(), Json::parse(R"({"return":{}})"));
  EXPECT_EQ(client.read_json()["id"], "a");
  client.send_text("ute\":\"query-commands\",\"id\":2}");
  EXPECT_EQ(client.read_json()["id"], 2);
}

TEST_F(QmpServerTest, EventsGoOnlyToClientsInCommandMode) {
  make_server();
  TestClient client = connect_pair();
  ASSERT_TRUE(client.read_json().contains("QMP"));
  server_->emit_event("STOP");  // still negotiating: not sent
  client.send_text(R"({"execute":"qmp_capabilities"})");
  EXPECT_EQ(client.read_json(), Json::parse(R"({"return":{}})"));
  server_->emit_event("RESUME", Json());
  server_->emit_event("SHUTDOWN", Json{{"guest", false}, {"reason", "host-qmp-quit"}});
  EXPECT_EQ(client.read_line(), R"({"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "RESUME"})");
  Json shutdown = client.read_json();
  EXPECT_EQ(shutdown["event"], "SHUTDOWN");
  EXPECT_EQ(shutdown["data"]["reason"], "host-qmp-quit");
}

TEST_F(QmpServerTest, EventFromAHandlerPrecedesItsReply) {
  make_server();
  TestClient client = connect_pair();
  client.negotiate();
  client.send_text(R"({"execute":"x-stop","id":3})");
  EXPECT_EQ(client.read_json()["event"], "STOP");
  EXPECT_EQ(client.read_json(), Json::parse(R"({"return":{},"id":3})"));
}

TEST_F(QmpServerTest, HugeRequestIsAnsweredAndTheSessionGoesOn) {
  make_server();
  TestClient client = connect_pair();
  client.negotiate();
  const std::string huge = R"({"execute":"x","arguments":{"s":")" + std::string(300000, 'a') + R"("}})";
  std::thread writer([&] { client.send_text(huge); });
  EXPECT_EQ(client.read_json()["error"]["desc"], "JSON token size limit exceeded");
  writer.join();
  client.send_text(R"({"execute":"query-version"})");
  EXPECT_EQ(client.read_json()["return"]["package"], "keel test");
  EXPECT_TRUE(server_->has_client());
}

TEST_F(QmpServerTest, GarbageIsAnsweredNotFatal) {
  make_server();
  TestClient client = connect_pair();
  client.negotiate();
  const char garbage[] = "\xff\x00 } [1] {bad}\n";
  client.send_text(std::string(garbage, sizeof garbage - 1));
  EXPECT_TRUE(client.read_json()["error"]["desc"].get<std::string>().starts_with("JSON parse error"));
  EXPECT_EQ(client.read_json()["error"]["desc"], "JSON parse error, expecting value");
  EXPECT_EQ(client.read_json()["error"]["desc"], "QMP input must be a JSON object");
  EXPECT_TRUE(client.read_json()["error"]["desc"].get<std::string>().starts_with("JSON parse error"));
  client.send_text(R"({"execute":"query-version"})");
  EXPECT_TRUE(client.read_json().contains("return"));
}

TEST_F(QmpServerTest, ManyPipelinedRequestsAreAllAnswered) {
  make_server();
  TestClient client = connect_pair();
  client.negotiate();
  std::string burst;
  for (int i = 0; i < 500; ++i) burst += R"({"execute":"query-version","id":)" + std::to_string(i) + "}";
  client.send_text(burst);  // far more than one wake-up's budget
  for (int i = 0; i < 500; ++i) ASSERT_EQ(client.read_json()["id"], i);
}

TEST_F(QmpServerTest, HalfClosedClientStillGetsItsReplies) {
  make_server();
  TestClient client = connect_pair();
  client.negotiate();
  client.send_text(R"({"execute":"query-version","id":7} {"execute":"query-commands","id":8})");
  shutdown(client.fd(), SHUT_WR);
  EXPECT_EQ(client.read_json()["id"], 7);
  EXPECT_EQ(client.read_json()["id"], 8);
  EXPECT_TRUE(client.sees_eof());
  EXPECT_TRUE(eventually([&] { return !server_->has_client(); }));
}

TEST_F(QmpServerTest, ClientThatNeverReadsIsDropped) {
  QmpServer::Limits limits;
  limits.max_output_bytes = 64 * 1024;
  make_server(limits);
  TestClient client = connect_pair();
  client.negotiate();
  // Events pile up while the client reads nothing: the kernel's buffer
  // fills, then the server's, then the client is dropped. Never blocks.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000 && server_->has_client(); ++i) {
    server_->emit_event("X-TEST", Json{{"n", i}, {"pad", std::string(100, 'p')}});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(eventually([&] { return !server_->has_client(); }));
}

TEST_F(QmpServerTest, ListenerServesClientsInTurn) {
  make_server();
  listen_unix();
  TestClient first = connect_unix();
  first.negotiate();
  TestClient second = connect_unix();  // waits in the backlog
  EXPECT_EQ(second.read_line(200ms), "");
  first.send_text(R"({"execute":"query-version","id":"first"})");
  EXPECT_EQ(first.read_json()["id"], "first");
  first.close_now();
  second.negotiate();  // the greeting comes once the first client is gone
  second.send_text(R"({"execute":"query-version","id":"second"})");
  EXPECT_EQ(second.read_json()["id"], "second");
}

TEST_F(QmpServerTest, ClientVanishingMidCommandDoesNotStopTheServer) {
  make_server();
  listen_unix();
  {
    TestClient client = connect_unix();
    client.negotiate();
    client.send_text(R"({"execute":"query-vers)");
  }
  {
    TestClient client = connect_unix();
    client.negotiate();
    // A whole request, then gone before the reply is read.
    client.send_text(R"({"execute":"query-commands"})");
  }
  TestClient survivor = connect_unix();
  survivor.negotiate();
  survivor.send_text(R"({"execute":"query-version"})");
  EXPECT_TRUE(survivor.read_json().contains("return"));
}

TEST_F(QmpServerTest, DestroyingTheServerClosesClientAndSocketFile) {
  make_server();
  listen_unix();
  TestClient client = connect_unix();
  client.negotiate();
  EXPECT_TRUE(std::filesystem::exists(socket_path_));
  server_.reset();
  EXPECT_TRUE(client.sees_eof());
  EXPECT_FALSE(std::filesystem::exists(socket_path_));
}

TEST_F(QmpServerTest, ListenerRefusesPathsThatAreNotStaleSockets) {
  EXPECT_THROW(open_unix_listener("", "QMP socket"), ConfigError);
  EXPECT_THROW(open_unix_listener(std::string(200, 'x'), "QMP socket"), ConfigError);
  { std::ofstream(socket_path_) << "not a socket"; }
  EXPECT_THROW(open_unix_listener(socket_path_, "QMP socket"), ConfigError);
  std::filesystem::remove(socket_path_);
  const int live = open_unix_listener(socket_path_, "QMP socket");
  EXPECT_THROW(open_unix_listener(socket_path_, "QMP socket"), ConfigError);  // someone listens
  close(live);
  const int replaced = open_unix_listener(socket_path_, "QMP socket");  // stale: replaced
  EXPECT_GE(replaced, 0);
  close(replaced);
}

}  // namespace
}  // namespace keel::qmp
