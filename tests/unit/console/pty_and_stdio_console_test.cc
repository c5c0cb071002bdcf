#include <fcntl.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <future>

#include "keel/config_error.h"
#include "src/console/backends.h"
#include "src/console/terminal.h"
#include "tests/support/fakes.h"
#include "tests/unit/console/console_test_helpers.h"

namespace keel::console {
namespace {

using test::as_bytes;
using test::eventually;
using test::read_some;
using test::RecordingReceiver;

TEST(PtyConsole, OutputReachesTheSlaveAndInputComesBack) {
  vmm::EventLoop loop;
  PtyConsole console(loop);
  ASSERT_TRUE(console.slave_path().starts_with("/dev/pts/")) << console.slave_path();
  auto receiver = std::make_shared<RecordingReceiver>();
  console.set_receiver(receiver);
  loop.start();

  const int reader = ::open(console.slave_path().c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  // Raw: "\n" stays "\n" (no CR added), and nothing is echoed back.
  console.write(as_bytes("boot\nok"));
  EXPECT_EQ(read_some(reader, 7), "boot\nok");

  ASSERT_EQ(write(reader, "in\x03", 3), 3);  // Ctrl-C is data, not a signal
  EXPECT_TRUE(eventually([&] { return receiver->text() == "in\x03"; }));
  EXPECT_EQ(read_some(reader, 1, 200), "");  // no echo
  close(reader);
  loop.stop();
}

TEST(PtyConsole, OutputWithNoReaderIsDroppedWithoutBlocking) {
  vmm::EventLoop loop;
  PtyConsole console(loop);
  const std::string chunk(16 * 1024, 'q');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 64; ++i) console.write(as_bytes(chunk));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// A pty pair standing in for the user's terminal.
struct FakeTerminal {
  FakeTerminal() {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    EXPECT_GE(master, 0);
    EXPECT_EQ(grantpt(master), 0);
    EXPECT_EQ(unlockpt(master), 0);
    slave = ::open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    EXPECT_GE(slave, 0);
  }
  ~FakeTerminal() {
    close(slave);
    close(master);
  }
  termios mode() const {
    termios current{};
    tcgetattr(slave, &current);
    return current;
  }
  int master = -1;
  int slave = -1;
};

struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    close(fds[0]);
    close(fds[1]);
  }
  int fds[2];
};

TEST(StdioConsole, TerminalGoesRawAndIsRestored) {
  FakeTerminal terminal;
  const termios before = terminal.mode();
  ASSERT_TRUE(before.c_lflag & ICANON);
  Pipe output;
  Pipe messages;
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  {
    StdioConsole console(loop, vm, {.input = terminal.slave, .output = output.fds[1], .messages = messages.fds[1]});
    EXPECT_TRUE(console.interactive());
    EXPECT_TRUE(terminal::raw_mode_active());
    const termios raw = terminal.mode();
    EXPECT_FALSE(raw.c_lflag & (ICANON | ECHO | ISIG | IEXTEN));
    EXPECT_FALSE(raw.c_iflag & (ICRNL | IXON | ISTRIP));
    EXPECT_TRUE(raw.c_oflag & OPOST);  // as QEMU: "\n" still returns the carriage
    EXPECT_EQ(raw.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
  }
  EXPECT_FALSE(terminal::raw_mode_active());
  const termios after = terminal.mode();
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  restore_terminal_now();  // idempotent
}

TEST(StdioConsole, OnlyOneRawTerminalAtATime) {
  FakeTerminal terminal;
  Pipe output;
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  StdioConsole first(loop, vm, {.input = terminal.slave, .output = output.fds[1], .messages = output.fds[1]});
  const StdioConsole::Fds fds{.input = terminal.slave, .output = output.fds[1], .messages = output.fds[1]};
  EXPECT_THROW(StdioConsole second(loop, vm, fds), ConfigError);
}

TEST(StdioConsole, CtrlAEscapesOnATerminal) {
  FakeTerminal terminal;
  Pipe output;
  Pipe messages;
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  StdioConsole console(loop, vm, {.input = terminal.slave, .output = output.fds[1], .messages = messages.fds[1]});
  auto receiver = std::make_shared<RecordingReceiver>();
  console.set_receiver(receiver);
  loop.start();

  ASSERT_EQ(write(terminal.master, "ls\r\x03\x01\x01", 6), 6);
  EXPECT_TRUE(eventually([&] { return receiver->text() == "ls\r\x03\x01"; })) << receiver->text();
  ASSERT_EQ(write(terminal.master, "\x01h", 2), 2);
  EXPECT_NE(read_some(messages.fds[0], EscapeFilter::help_text().size()).find("C-a x"), std::string::npos);
  EXPECT_FALSE(vm.stop().has_value());

  ASSERT_EQ(write(terminal.master, "\x01x", 2), 2);
  ASSERT_TRUE(eventually([&] { return vm.stop().has_value(); }));
  EXPECT_EQ(vm.stop()->reason, StopReason::user_quit);
  EXPECT_EQ(vm.stop()->exit_status, 0);
  EXPECT_EQ(receiver->text(), "ls\r\x03\x01");

  console.write(as_bytes("guest says hi\n"));
  EXPECT_EQ(read_some(output.fds[0], 14), "guest says hi\n");
  loop.stop();
}

// A receiver that blocks, as the UART does while a vCPU holds its lock
// (writing to a stalled stdout can take up to a minute).
class BlockedReceiver final : public CharReceiver {
 public:
  void receive(std::span<const std::byte>) noexcept override { released_.wait(); }
  void release() { release_.set_value(); }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

TEST(StdioConsole, CtrlAXStopsEvenWhenTheGuestSideIsBlocked) {
  FakeTerminal terminal;
  Pipe output;
  Pipe messages;
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  StdioConsole console(loop, vm, {.input = terminal.slave, .output = output.fds[1], .messages = messages.fds[1]});
  auto receiver = std::make_shared<BlockedReceiver>();
  console.set_receiver(receiver);
  loop.start();
  // Typed ahead of the escape, in one read: the quit must not wait for it.
  ASSERT_EQ(write(terminal.master, "ls\x01x", 4), 4);
  EXPECT_TRUE(eventually([&] { return vm.stop().has_value(); }));
  receiver->release();
  loop.stop();
  ASSERT_TRUE(vm.stop().has_value());
  EXPECT_EQ(vm.stop()->reason, StopReason::user_quit);
  EXPECT_EQ(vm.stop()->exit_status, 0);
}

TEST(StdioConsole, PipedInputPassesUnchangedAndEofDoesNotStopTheVm) {
  Pipe input;
  Pipe output;
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  StdioConsole console(loop, vm, {.input = input.fds[0], .output = output.fds[1], .messages = output.fds[1]});
  EXPECT_FALSE(console.interactive());
  EXPECT_FALSE(terminal::raw_mode_active());
  auto receiver = std::make_shared<RecordingReceiver>();
  console.set_receiver(receiver);
  loop.start();
  ASSERT_EQ(write(input.fds[1], "a\x01x\x01h", 5), 5);
  EXPECT_TRUE(eventually([&] { return receiver->text() == "a\x01x\x01h"; }));
  close(input.fds[1]);
  input.fds[1] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // keep the Pipe destructor's close valid
  // At end of input the console unregisters stdin (else the level-triggered
  // EOF would keep the loop spinning): registering it again then succeeds.
  EXPECT_TRUE(eventually([&] {
    try {
      loop.add(input.fds[0], EPOLLIN, [](uint32_t) {});
      return true;
    } catch (const std::system_error&) {
      return false;
    }
  }));
  loop.remove(input.fds[0]);
  EXPECT_FALSE(vm.stop().has_value());
  loop.stop();
}

TEST(StdioConsole, UnpollableInputMeansNoInput) {
  FILE* file = tmpfile();
  ASSERT_NE(file, nullptr);
  Pipe output;
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  StdioConsole console(loop, vm, {.input = fileno(file), .output = output.fds[1], .messages = output.fds[1]});
  console.write(as_bytes("still works"));
  EXPECT_EQ(read_some(output.fds[0], 11), "still works");
  fclose(file);
}

}  // namespace
}  // namespace keel::console
