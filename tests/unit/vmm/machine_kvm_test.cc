// Boots the embedded probe guest through run_machine() when /dev/kvm is
// usable: the whole path from MachineConfig to exit status, with the serial
// output captured in a file.
#include <gtest/gtest.h>

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>
#include <fstream>
#include <sstream>

#include "keel/config_error.h"
#include "src/vmm/machine.h"
#include "src/harness/harness_result.h"
#include "src/vmm/machine_parts.h"

namespace keel::vmm {
namespace {

using namespace std::chrono_literals;

#define REQUIRE_KVM()                                                                        \
  do {                                                                                       \
    if (!std::filesystem::exists("/dev/kvm")) GTEST_SKIP() << "SKIPPED: no /dev/kvm: host has no KVM"; \
    if (access("/dev/kvm", R_OK | W_OK) != 0)                                                \
      GTEST_SKIP() << "SKIPPED: no /dev/kvm: not accessible to this user";                   \
  } while (0)

class MachineKvm : public ::testing::Test {
 protected:
  void SetUp() override {
    serial_ = std::filesystem::temp_directory_path() /
              ("keel-machine-test-" + std::to_string(getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt");
  }
  void TearDown() override { std::filesystem::remove(serial_); }

  MachineConfig config(const std::string& cmdline, uint32_t cpus = 1) {
    MachineConfig c;
    c.cmdline = cmdline;
    c.cpus = cpus;
    c.memory.size_bytes = 64ull << 20;
    c.serial = ConsoleSpec{.kind = ConsoleKind::file, .path = serial_, .max_size = console::kDefaultOutputMaxSize};
    return c;
  }
  std::string serial_text() {
    std::ifstream in(serial_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::filesystem::path serial_;
};

TEST_F(MachineKvm, DefaultGuestDemoExitsZero) {
  REQUIRE_KVM();
  EXPECT_EQ(run_machine(config("")), 0);
  EXPECT_NE(serial_text().find("probe demo: done"), std::string::npos) << serial_text();
}

TEST_F(MachineKvm, UartSuitePassesWithIrq4) {
  REQUIRE_KVM();
  EXPECT_EQ(run_machine(config("tests=uart")), 0) << serial_text();
  EXPECT_NE(serial_text().find("ok 9 - uart: THRE interrupt when ETBEI is enabled (IRQ 4)"), std::string::npos)
      << serial_text();
}

TEST_F(MachineKvm, DebugExitValueBecomesTheExitStatus) {
  REQUIRE_KVM();
  // The probe writes 2 to the debug-exit port for an unknown suite.
  EXPECT_EQ(run_machine(config("tests=no-such-suite")), 2) << serial_text();
}

TEST_F(MachineKvm, TwoCpusStartTheAp) {
  REQUIRE_KVM();
  EXPECT_EQ(run_machine(config("tests=smp", 2)), 0) << serial_text();
  EXPECT_NE(serial_text().find("ok 3 - smp: every AP starts and reports"), std::string::npos) << serial_text();
}

TEST_F(MachineKvm, KeysInjectedAfterPrompt) {
  REQUIRE_KVM();
  MachineConfig c = config("tests=i8042-inject");
  c.key_injection = KeyInjection{.after_console_regex = "i8042-inject: ready", .keys = {"a", "b", "ret"}};
  EXPECT_EQ(run_machine(c), 0) << serial_text();
  EXPECT_NE(serial_text().find("[1e 9e 30 b0 1c 9c]"), std::string::npos) << serial_text();
}

TEST_F(MachineKvm, BadConfigurationIsAConfigError) {
  EXPECT_THROW(run_machine(config("", 0)), ConfigError);
  EXPECT_THROW(run_machine(config("", 65)), ConfigError);
  REQUIRE_KVM();
  MachineConfig c = config("");
  c.debug_exit_port = 0x3f8;  // collides with COM1
  EXPECT_THROW(run_machine(c), ConfigError);
  c = config("");
  c.key_injection = KeyInjection{.after_console_regex = "(", .keys = {"a"}};
  EXPECT_THROW(run_machine(c), ConfigError);
}

// Holds the machine's event loop in a handler that does not return until the
// teardown watchdog fires -- a device handler that missed its work budget.
// The stop must still happen, and the teardown must still end.
class StuckEventLoop {
 public:
  explicit StuckEventLoop(std::chrono::milliseconds teardown_grace) {
    hooks.teardown_grace = teardown_grace;
    hooks.before_start = [this](Machine& m) {
      m.loop->add(fd_, EPOLLIN, [this](uint32_t) {
        entered.store(true);
        released_.wait();
        uint64_t value = 0;
        [[maybe_unused]] ssize_t got = read(fd_, &value, sizeof value);
      });
      const uint64_t one = 1;
      EXPECT_EQ(write(fd_, &one, sizeof one), static_cast<ssize_t>(sizeof one));
      if (send_sigterm_after) {
        // Made after keel blocked SIGTERM, so it inherits the mask; aimed at
        // the thread that waits for the stop.
        // It must not look at the machine: nothing orders that read before
        // the machine's destruction for TSan (the signal is the only link).
        // The guest (kLongGuest) outlives the delay, so the stop is ours.
        sender_ = std::thread([this, waiter = pthread_self()] {
          std::this_thread::sleep_for(*send_sigterm_after);
          pthread_kill(waiter, SIGTERM);
        });
      }
    };
    hooks.on_teardown_stuck = [this] {
      watchdog_fired.store(true);
      release_.set_value();
    };
  }
  ~StuckEventLoop() {
    if (sender_.joinable()) sender_.join();
    close(fd_);
  }

  RunHooks hooks;
  std::optional<std::chrono::milliseconds> send_sigterm_after;
  std::atomic<bool> entered{false};
  std::atomic<bool> watchdog_fired{false};

 private:
  int fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::thread sender_;
};

// The RTC suite waits seconds for RTC interrupts that a stuck loop never
// delivers: the guest outlives the stop request.
constexpr const char* kLongGuest = "tests=rtc,rtc";

TEST_F(MachineKvm, SigtermStopsTheVmWhileTheEventLoopIsStuck) {
  REQUIRE_KVM();
  StuckEventLoop stuck(500ms);
  stuck.send_sigterm_after = 300ms;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run_machine(config(kLongGuest), stuck.hooks), kExitSigterm) << serial_text();
  EXPECT_TRUE(stuck.entered.load());
  EXPECT_TRUE(stuck.watchdog_fired.load()) << "the event loop could only be stopped by the watchdog";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(MachineKvm, TimeoutStopsTheVmWhileTheEventLoopIsStuck) {
  REQUIRE_KVM();
  StuckEventLoop stuck(500ms);
  MachineConfig c = config(kLongGuest);
  c.harness.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run_machine(c, stuck.hooks), harness::kExitTimeout) << serial_text();
  EXPECT_TRUE(stuck.watchdog_fired.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace keel::vmm
