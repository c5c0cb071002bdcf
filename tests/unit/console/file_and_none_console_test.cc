#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "keel/config_error.h"
#include "src/console/backends.h"
#include "src/console/byte_size.h"
#include "src/console/console.h"
#include "tests/support/fakes.h"
#include "tests/unit/console/console_test_helpers.h"

namespace keel::console {
namespace {

using test::as_bytes;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/keel-console-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

TEST(FileConsole, WritesGuestBytesUnchangedAndTruncatesOnOpen) {
  TempDir dir;
  const auto path = dir.path / "serial.log";
  std::ofstream(path) << "old content that must go";
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  const mode_t old_umask = umask(022);
  auto console = Console::open({.kind = vmm::ConsoleKind::file, .path = path}, loop, vm);
  umask(old_umask);
  const std::string binary("hello\r\n\0\x01\xff", 10);
  console->write(as_bytes(binary));
  console->write(as_bytes("more"));
  EXPECT_EQ(slurp(path), binary + "more");
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
}

TEST(FileConsole, OutputStopsAtMaxSizeWithOneNote) {
  TempDir dir;
  const auto path = dir.path / "serial.log";
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  auto console =
      Console::open({.kind = vmm::ConsoleKind::file, .path = path, .max_size = 10}, loop, vm);
  console->write(as_bytes("12345"));
  console->write(as_bytes("6789"));
  EXPECT_EQ(slurp(path), "123456789");  // under the cap: all of it
  console->write(as_bytes("abcdef"));   // crosses it: cut at 10 bytes, then the note
  const std::string capped = "123456789a\n" + truncation_note("serial output", 10);
  EXPECT_EQ(slurp(path), capped);
  for (int i = 0; i < 100; ++i) console->write(as_bytes("the guest goes on writing"));
  EXPECT_EQ(slurp(path), capped);  // nothing more, and no second note
  EXPECT_FALSE(vm.stop().has_value()) << "the guest keeps running";
}

TEST(FileConsole, OutputEndingExactlyAtTheCapGetsTheNoteOnTheNextWrite) {
  TempDir dir;
  const auto path = dir.path / "serial.log";
  FileConsole console(path, 4);
  console.write(as_bytes("abcd"));
  EXPECT_EQ(slurp(path), "abcd");
  console.write(as_bytes("e"));
  EXPECT_EQ(slurp(path), "abcd\n" + truncation_note("serial output", 4));
}

TEST(FileConsole, DefaultCapIsOneGibibyte) {
  EXPECT_EQ(vmm::ConsoleSpec{}.max_size, 1ull << 30);
}

TEST(FileConsole, UnopenableFileIsAConfigErrorNamingThePath) {
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  try {
    Console::open({.kind = vmm::ConsoleKind::file, .path = "/nonexistent-dir/x"}, loop, vm);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "serial file '/nonexistent-dir/x': No such file or directory");
  }
  TempDir dir;
  try {
    Console::open({.kind = vmm::ConsoleKind::file, .path = dir.path}, loop, vm);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "serial file '" + dir.path.string() + "': Is a directory");
  }
}

TEST(Console, ObserversSeeOutputBeforeTheBackend) {
  TempDir dir;
  const auto path = dir.path / "serial.log";
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  auto console = Console::open({.kind = vmm::ConsoleKind::file, .path = path}, loop, vm);
  std::vector<std::string> seen;
  console->add_observer([&](std::span<const std::byte> bytes) {
    // The backend has not written these bytes yet.
    seen.push_back(slurp(path) + "|" + std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  });
  console->add_observer([](std::span<const std::byte>) { throw std::runtime_error("a broken observer"); });
  console->write(as_bytes("ab"));
  console->write(as_bytes("c"));
  EXPECT_EQ(seen, (std::vector<std::string>{"|ab", "ab|c"}));
  EXPECT_EQ(slurp(path), "abc");  // a throwing observer does not stop the output
}

TEST(NullConsole, DiscardsOutputButObserversSeeIt) {
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  auto console = Console::open({.kind = vmm::ConsoleKind::none, .path = {}}, loop, vm);
  std::string seen;
  console->add_observer([&](std::span<const std::byte> bytes) {
    seen.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  });
  console->set_receiver(std::make_shared<test::RecordingReceiver>());
  console->write(as_bytes("dropped"));
  EXPECT_EQ(seen, "dropped");
}

}  // namespace
}  // namespace keel::console

namespace keel::console {
namespace {

// A receiver that, like the UART, holds the console as its output.
class UartLike final : public CharReceiver {
 public:
  explicit UartLike(std::shared_ptr<Console> output) : output_(std::move(output)) {}
  void receive(std::span<const std::byte>) noexcept override {}

 private:
  std::shared_ptr<Console> output_;
};

TEST(Console, NoReferenceCycleWithTheReceiver) {
  vmm::EventLoop loop;
  testing::FakeVmControl vm;
  auto console = Console::open({.kind = vmm::ConsoleKind::none, .path = {}}, loop, vm);
  std::weak_ptr<Console> watch = console;
  auto uart = std::make_shared<UartLike>(console);
  console->set_receiver(uart);
  console.reset();
  EXPECT_FALSE(watch.expired());  // the UART still uses it
  uart.reset();
  EXPECT_TRUE(watch.expired());  // and then nothing keeps it alive
}

}  // namespace
}  // namespace keel::console
