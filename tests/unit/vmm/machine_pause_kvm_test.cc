// Pause and resume on a real running VM (needs /dev/kvm; SKIPPED without):
// the probe guest's ticker suite prints "# ticker: N" as its busy loop
// advances. While paused no new output may appear; after resume the count
// goes on from N+1; a stop while paused (a stop request, or SIGTERM to the
// thread waiting for the stop) ends the VM promptly.
#include <gtest/gtest.h>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "src/vmm/machine.h"
#include "src/vmm/machine_parts.h"
#include "tests/unit/kvm/kvm_test_support.h"

namespace keel::vmm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The N of the last complete "# ticker: N" line.
std::optional<unsigned> last_tick(const std::string& text) {
  constexpr std::string_view kPrefix = "# ticker: ";
  size_t end = text.rfind('\n');
  while (end != std::string::npos && end > 0) {
    const size_t start = text.rfind('\n', end - 1);
    const size_t line_start = start == std::string::npos ? 0 : start + 1;
    const std::string line = text.substr(line_start, end - line_start);
    if (line.starts_with(kPrefix) && line.size() > kPrefix.size() && std::isdigit(line[kPrefix.size()])) {
      return static_cast<unsigned>(std::stoul(line.substr(kPrefix.size())));
    }
    if (start == std::string::npos) break;
    end = start;
  }
  return std::nullopt;
}

// Whether a complete "# ticker: N" line is there (the console ends lines
// with CR LF).
bool has_tick(const std::string& text, unsigned n) {
  const std::string line = "# ticker: " + std::to_string(n);
  for (size_t at = text.find(line); at != std::string::npos; at = text.find(line, at + 1)) {
    const size_t after = at + line.size();
    if (after < text.size() && (text[after] == '\r' || text[after] == '\n')) return true;
  }
  return false;
}

class MachinePause : public ::testing::Test {
 protected:
  void SetUp() override {
    serial_ = std::filesystem::temp_directory_path() /
              ("keel-pause-test-" + std::to_string(getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt");
  }
  void TearDown() override {
    if (controller_.joinable()) controller_.join();
    std::filesystem::remove(serial_);
  }

  // The ticker forever, on 2 vCPUs: the AP sits in KVM_RUN waiting for a
  // SIPI that never comes, so the pause must also kick a vCPU blocked
  // inside the kernel.
  MachineConfig config() {
    MachineConfig c;
    c.cmdline = "tests=ticker ticks=0";
    c.cpus = 2;
    c.memory.size_bytes = 64ull << 20;
    c.serial = ConsoleSpec{.kind = ConsoleKind::file, .path = serial_, .max_size = console::kDefaultOutputMaxSize};
    return c;
  }

  // Waits until the console shows a tick after `after` (or any tick).
  std::optional<unsigned> wait_for_tick_after(std::optional<unsigned> after, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      std::optional<unsigned> tick = last_tick(read_text(serial_));
      if (tick && (!after || *tick > *after)) return tick;
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  // Runs `body` on a controller thread once the machine is built; the
  // controller must end the VM (the test fails, rather than hangs, if it
  // returns without a stop: a fallback stop is requested).
  // `body` calls stopping() right before it asks for the stop; after that
  // nothing may touch `control` (the machine is torn down without waiting
  // for this thread), so the fallback asks the fixture, not the machine.
  RunHooks hooks(std::function<void(MachineControl&, pthread_t)> body) {
    RunHooks h;
    h.before_start = [this, body = std::move(body)](Machine& m) {
      controller_ = std::thread([this, body, control = &m.control, waiter = pthread_self()] {
        body(*control, waiter);
        if (!body_stops_.load()) {
          ADD_FAILURE() << "the controller returned without stopping the VM";
          control->request_stop(StopReason::error, kExitVmFailed, "test controller ended");
        }
      });
    };
    return h;
  }

  std::filesystem::path serial_;
  void stopping() { body_stops_.store(true); }

  std::thread controller_;
  std::atomic<bool> body_stops_{false};
};

TEST_F(MachinePause, PausedGuestMakesNoProgressAndResumeContinuesIt) {
  REQUIRE_KVM();
  std::atomic<int64_t> stop_requested_at{0};
  auto body = [&](MachineControl& control, pthread_t) {
    const std::optional<unsigned> first = wait_for_tick_after(std::nullopt, 60s);
    ASSERT_TRUE(first) << "the ticker never printed:\n" << read_text(serial_);
    EXPECT_EQ(control.run_state(), RunState::running);

    LifecycleResult paused = control.pause();
    ASSERT_EQ(paused.outcome, LifecycleOutcome::done) << "stuck vCPU " << paused.stuck_vcpu.value_or(~0u);
    EXPECT_EQ(control.run_state(), RunState::paused);
    EXPECT_TRUE(control.wait_all_parked(0ms));
    std::this_thread::sleep_for(50ms);  // output already on its way to the file
    const std::string before = read_text(serial_);
    std::this_thread::sleep_for(300ms);
    const std::string during = read_text(serial_);
    EXPECT_EQ(during.size(), before.size()) << "the console advanced while paused";
    const std::optional<unsigned> frozen = last_tick(during);
    ASSERT_TRUE(frozen);
    EXPECT_EQ(control.pause().outcome, LifecycleOutcome::already);

    EXPECT_EQ(control.resume().outcome, LifecycleOutcome::done);
    EXPECT_EQ(control.run_state(), RunState::running);
    EXPECT_EQ(control.resume().outcome, LifecycleOutcome::already);
    const std::optional<unsigned> later = wait_for_tick_after(frozen, 30s);
    ASSERT_TRUE(later) << "no progress after resume";
    // The count goes on from where it stopped: nothing restarted, and the
    // line after the frozen one is N+1.
    EXPECT_TRUE(has_tick(read_text(serial_), *frozen + 1)) << "frozen at " << *frozen << ":\n" << read_text(serial_);

    // Pause again and stop while paused: the parked vCPUs must return.
    ASSERT_EQ(control.pause().outcome, LifecycleOutcome::done);
    stop_requested_at.store(Clock::now().time_since_epoch().count());
    // Nothing may touch `control` after this: run_machine tears the machine
    // down at once (a pause after a stop is refused: run_state_test.cc).
    stopping();
    control.request_stop(StopReason::user_quit, 42);
  };
  EXPECT_EQ(run_machine(config(), hooks(body)), 42) << read_text(serial_);
  const auto ended = Clock::now().time_since_epoch().count();
  ASSERT_NE(stop_requested_at.load(), 0);
  EXPECT_LT(Clock::duration(ended - stop_requested_at.load()), 2s) << "stop while paused was not prompt";
}

TEST_F(MachinePause, SigtermWhilePausedStopsTheVm) {
  REQUIRE_KVM();
  std::atomic<int64_t> signalled_at{0};
  auto body = [&](MachineControl& control, pthread_t waiter) {
    ASSERT_TRUE(wait_for_tick_after(std::nullopt, 60s)) << read_text(serial_);
    ASSERT_EQ(control.pause().outcome, LifecycleOutcome::done);
    signalled_at.store(Clock::now().time_since_epoch().count());
    // The thread that waits for the stop serves SIGTERM (it blocks it and
    // reads a signalfd), as keel's main thread does.
    // Nothing may touch `control` after this: the waiter stops and tears
    // the machine down without waiting for this thread.
    stopping();
    // TSan cannot see a signal read from a signalfd as synchronisation;
    // taking the control's lock here (the waiter takes it to record the
    // stop) orders everything above before the teardown in its eyes.
    (void)control.stop_record();
    pthread_kill(waiter, SIGTERM);
  };
  EXPECT_EQ(run_machine(config(), hooks(body)), kExitSigterm) << read_text(serial_);
  ASSERT_NE(signalled_at.load(), 0);
  EXPECT_LT(Clock::duration(Clock::now().time_since_epoch().count() - signalled_at.load()), 2s);
}

// With --seccomp=on the vCPU threads park and wake under their filter (a
// forbidden call would end keel with SIGSYS's status). In a child process:
// run_machine() installs the main thread's filter on the calling thread.
TEST_F(MachinePause, PauseAndResumeUnderSeccomp) {
  REQUIRE_KVM();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto body = [this](MachineControl& control, pthread_t) {
    const std::optional<unsigned> first = wait_for_tick_after(std::nullopt, 60s);
    if (!first) return;
    if (control.pause().outcome != LifecycleOutcome::done) return;
    if (control.resume().outcome != LifecycleOutcome::done) return;
    if (!wait_for_tick_after(last_tick(read_text(serial_)), 30s)) return;
    stopping();
    control.request_stop(StopReason::user_quit, 42);
  };
  MachineConfig c = config();
  c.seccomp = sandbox::SeccompMode::on;
  // The child joins the controller before _exit: under TSan an unjoined
  // thread is a leak report at exit, and symbolizing it needs syscalls the
  // main thread's filter refuses (the SIGSYS handler then deadlocks inside
  // TSan's exit path).
  auto run_and_join = [&] {
    const int status = run_machine(c, hooks(body));
    if (controller_.joinable()) controller_.join();
    _exit(status);
  };
  EXPECT_EXIT(run_and_join(), ::testing::ExitedWithCode(42), "") << read_text(serial_);
}

}  // namespace
}  // namespace keel::vmm
