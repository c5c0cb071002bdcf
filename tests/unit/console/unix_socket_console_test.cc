#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "keel/config_error.h"
#include "src/console/console.h"
#include "tests/support/fakes.h"
#include "tests/unit/console/console_test_helpers.h"

namespace keel::console {
namespace {

using test::as_bytes;
using test::eventually;
using test::read_some;
using test::RecordingReceiver;

class UnixSocketConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/keel-sock-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ / "console.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<Console> open_console() {
    return Console::open({.kind = vmm::ConsoleKind::unix_socket, .path = path_}, loop_, vm_);
  }

  // A connected client, or -1.
  int connect_client() const {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path_.c_str());
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  std::string open_error() {
    try {
      open_console();
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }

  std::filesystem::path dir_;
  std::filesystem::path path_;
  vmm::EventLoop loop_;
  testing::FakeVmControl vm_;
};

TEST_F(UnixSocketConsoleTest, ClientReceivesOutputAndSendsInput) {
  auto console = open_console();
  auto receiver = std::make_shared<RecordingReceiver>();
  console->set_receiver(receiver);
  loop_.start();

  console->write(as_bytes("before anyone listens"));  // dropped, must not block or crash

  const int client = connect_client();
  ASSERT_GE(client, 0);
  // The accept happens on the loop thread; output before it is dropped.
  ASSERT_TRUE(eventually([&] {
    console->write(as_bytes("."));
    char c;
    return recv(client, &c, 1, MSG_DONTWAIT) == 1;
  }));
  while (read_some(client, 1, 100).size() > 0) {
  }
  console->write(as_bytes("hello guest output"));
  EXPECT_EQ(read_some(client, 18), "hello guest output");

  ASSERT_EQ(send(client, "typed", 5, 0), 5);
  EXPECT_TRUE(eventually([&] { return receiver->text() == "typed"; }));
  close(client);
  loop_.stop();
}

TEST_F(UnixSocketConsoleTest, OneClientAtATimeAndReconnect) {
  auto console = open_console();
  auto receiver = std::make_shared<RecordingReceiver>();
  console->set_receiver(receiver);
  loop_.start();
  const int first = connect_client();
  ASSERT_GE(first, 0);
  ASSERT_EQ(send(first, "1", 1, 0), 1);
  ASSERT_TRUE(eventually([&] { return receiver->text() == "1"; }));

  const int second = connect_client();  // accepted by the kernel, then closed by keel
  ASSERT_GE(second, 0);
  EXPECT_EQ(read_some(second, 1), "");  // EOF: refused
  close(second);

  close(first);
  // After the first client leaves, a new one is served.
  int third = -1;
  ASSERT_TRUE(eventually([&] {
    if (third >= 0) close(third);
    third = connect_client();
    if (third < 0 || send(third, "3", 1, MSG_NOSIGNAL) != 1) return false;
    return eventually([&] { return receiver->text() == "13"; }, std::chrono::milliseconds(200));
  }));
  console->write(as_bytes("to third"));
  EXPECT_EQ(read_some(third, 8), "to third");
  close(third);
  loop_.stop();
}

TEST_F(UnixSocketConsoleTest, SocketFileIsRemovedOnClose) {
  {
    auto console = open_console();
    struct stat info {};
    ASSERT_EQ(lstat(path_.c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));
  }
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(UnixSocketConsoleTest, RefusesAPathThatIsNotASocket) {
  std::ofstream(path_) << "precious";
  EXPECT_EQ(open_error(), "serial socket '" + path_.string() + "': path exists and is not a socket");
  std::ifstream in(path_);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");  // untouched
}

TEST_F(UnixSocketConsoleTest, RefusesASocketSomeoneListensOn) {
  auto console = open_console();
  EXPECT_EQ(open_error(), "serial socket '" + path_.string() + "': already in use by another process");
}

TEST_F(UnixSocketConsoleTest, ReplacesAStaleSocket) {
  // A socket file whose listener is gone.
  const int stale = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path_.c_str());
  ASSERT_EQ(bind(stale, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  close(stale);
  auto console = open_console();
  loop_.start();
  const int client = connect_client();
  EXPECT_GE(client, 0);
  close(client);
  loop_.stop();
}

TEST_F(UnixSocketConsoleTest, RejectsOverlongPaths) {
  path_ = dir_ / std::string(200, 'x');
  EXPECT_EQ(open_error(), "serial socket '" + path_.string() + "': path must be 1 to 107 bytes long");
}

TEST_F(UnixSocketConsoleTest, ClientThatStopsReadingDoesNotStallTheGuest) {
  auto console = open_console();
  loop_.start();
  const int client = connect_client();
  ASSERT_GE(client, 0);
  ASSERT_TRUE(eventually([&] {
    console->write(as_bytes("."));
    char c;
    return recv(client, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 1;
  }));
  const std::string chunk(64 * 1024, 'z');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 64; ++i) console->write(as_bytes(chunk));  // 4 MiB, nobody reads
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  close(client);
  loop_.stop();
}

}  // namespace
}  // namespace keel::console
