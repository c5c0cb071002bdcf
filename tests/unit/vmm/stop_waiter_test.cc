// A stop request must not depend on a thread a guest can keep busy: the
// tests hold the event loop in a handler that does not return (as a device
// handler that missed its work budget would) and check that SIGTERM and the
// deadline still stop the VM, and that a stuck teardown is bounded.
#include "src/vmm/stop_waiter.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "keel/clock.h"
#include "src/vmm/exit_status.h"
#include "src/vmm/loop/event_loop.h"

namespace keel::vmm {
namespace {

using namespace std::chrono_literals;

// An event loop whose thread is inside a handler that only returns once
// released.
class StuckLoop {
 public:
  StuckLoop() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    loop_.add(fd_, EPOLLIN, [this](uint32_t) {
      entered_.store(true);
      release_.get_future().wait();
      uint64_t value = 0;
      [[maybe_unused]] ssize_t got = read(fd_, &value, sizeof value);
    });
    loop_.start();
    const uint64_t one = 1;
    EXPECT_EQ(write(fd_, &one, sizeof one), static_cast<ssize_t>(sizeof one));
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (!entered_.load() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(entered_.load());
  }
  ~StuckLoop() {
    release();
    loop_.stop();
    loop_.remove(fd_);
    close(fd_);
  }
  void release() {
    if (!released_.exchange(true)) release_.set_value();
  }
  EventLoop& loop() { return loop_; }

 private:
  EventLoop loop_;
  int fd_;
  std::atomic<bool> entered_{false};
  std::atomic<bool> released_{false};
  std::promise<void> release_;
};

constexpr int kGaveUp = 99;

// A deadline that ends a failing test instead of hanging it.
StopSources safety_net(MachineControl& control, HostSignals* signals) {
  return StopSources{.signals = signals, .deadline = system_clock().monotonic() + 10s,
                     .on_deadline = [&control] { control.request_stop(StopReason::error, kGaveUp, "gave up"); }};
}

TEST(WaitForStop, SigtermStopsWhileTheEventLoopIsStuck) {
  HostSignals signals;  // blocks SIGINT/SIGTERM here and in threads made from now on
  StuckLoop stuck;
  MachineControl control;
  const pthread_t waiter = pthread_self();
  std::thread sender([waiter] {
    std::this_thread::sleep_for(50ms);
    pthread_kill(waiter, SIGTERM);
  });
  const StopRecord record = wait_for_stop(control, safety_net(control, &signals));
  sender.join();
  EXPECT_EQ(record.reason, StopReason::user_quit);
  EXPECT_EQ(record.exit_status, kExitSigterm);
}

TEST(WaitForStop, SigintIs130) {
  HostSignals signals;
  MachineControl control;
  pthread_kill(pthread_self(), SIGINT);
  EXPECT_EQ(wait_for_stop(control, safety_net(control, &signals)).exit_status, kExitSigint);
}

TEST(WaitForStop, DeadlineRunsOnTheWaitingThreadWhileTheEventLoopIsStuck) {
  StuckLoop stuck;
  MachineControl control;
  std::thread::id ran_on;
  const auto start = std::chrono::steady_clock::now();
  const StopSources sources{.signals = nullptr, .deadline = system_clock().monotonic() + 100ms, .on_deadline = [&] {
                              ran_on = std::this_thread::get_id();
                              control.request_stop(StopReason::user_quit, 4);
                            }};
  const StopRecord record = wait_for_stop(control, sources);
  EXPECT_EQ(record.exit_status, 4);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
}

TEST(WaitForStop, AStopFromAnotherThreadWakesIt) {
  MachineControl control;
  std::thread guest([&] {
    std::this_thread::sleep_for(20ms);
    control.request_stop(StopReason::debug_exit, 7);
  });
  const StopRecord record = wait_for_stop(control, safety_net(control, nullptr));
  guest.join();
  EXPECT_EQ(record.reason, StopReason::debug_exit);
  EXPECT_EQ(record.exit_status, 7);
}

TEST(WaitForStop, ADeadlineAlreadyPassedStillLetsAnEarlierStopWin) {
  MachineControl control;
  control.request_stop(StopReason::guest_poweroff, 0);
  bool deadline_ran = false;
  const StopSources sources{.signals = nullptr, .deadline = std::chrono::nanoseconds(1),
                            .on_deadline = [&] { deadline_ran = true; }};
  EXPECT_EQ(wait_for_stop(control, sources).reason, StopReason::guest_poweroff);
  EXPECT_FALSE(deadline_ran);
}

TEST(TeardownWatchdog, FiresWhenTheTeardownIsStuck) {
  StuckLoop stuck;
  std::atomic<bool> fired{false};
  const auto start = std::chrono::steady_clock::now();
  TeardownWatchdog watchdog(50ms, [&] {
    fired.store(true);
    stuck.release();  // what keel does instead: exit the process
  });
  stuck.loop().stop();  // waits for the stuck handler: only the watchdog ends this
  EXPECT_TRUE(fired.load());
  EXPECT_TRUE(watchdog.fired());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(TeardownWatchdog, DoesNotFireWhenDisarmedInTime) {
  std::atomic<bool> fired{false};
  {
    TeardownWatchdog watchdog(10s, [&] { fired.store(true); });
    watchdog.disarm();
    EXPECT_FALSE(watchdog.fired());
  }
  EXPECT_FALSE(fired.load());
}

}  // namespace
}  // namespace keel::vmm
