#include "src/vmm/loop/event_loop.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"

namespace keel::vmm {
namespace {

using namespace std::chrono_literals;

using keel::testing::eventually;

class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2");
    read_fd = fds[0];
    write_fd = fds[1];
  }
  ~Pipe() {
    close(read_fd);
    close(write_fd);
  }
  void put(char c) const { ASSERT_EQ(write(write_fd, &c, 1), 1); }
  int drain() const {
    char buffer[64];
    int total = 0;
    for (ssize_t got; (got = read(read_fd, buffer, sizeof buffer)) > 0;) total += static_cast<int>(got);
    return total;
  }
  int read_fd;
  int write_fd;
};

std::chrono::nanoseconds now() { return system_clock().monotonic(); }

TEST(EventLoop, CallsHandlerWhenPipeBecomesReadable) {
  EventLoop loop;
  Pipe pipe;
  std::atomic<int> bytes{0};
  std::atomic<uint32_t> seen_events{0};
  loop.add(pipe.read_fd, EPOLLIN, [&](uint32_t events) {
    seen_events = events;
    bytes += pipe.drain();
  });
  loop.start();
  pipe.put('a');
  EXPECT_TRUE(eventually([&] { return bytes == 1; }));
  EXPECT_TRUE(seen_events & EPOLLIN);
  pipe.put('b');
  pipe.put('c');
  EXPECT_TRUE(eventually([&] { return bytes == 3; }));
  loop.stop();
}

TEST(EventLoop, RejectsSecondRegistrationOfSameFd) {
  EventLoop loop;
  Pipe pipe;
  loop.add(pipe.read_fd, EPOLLIN, [](uint32_t) {});
  EXPECT_THROW(loop.add(pipe.read_fd, EPOLLIN, [](uint32_t) {}), std::system_error);
}

TEST(EventLoop, RejectsFdsEpollCannotWatch) {
  EventLoop loop;
  FILE* file = tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_THROW(loop.add(fileno(file), EPOLLIN, [](uint32_t) {}), std::system_error);
  fclose(file);
}

TEST(EventLoop, RemoveStopsCalls) {
  EventLoop loop;
  Pipe pipe;
  std::atomic<int> calls{0};
  loop.add(pipe.read_fd, EPOLLIN, [&](uint32_t) {
    pipe.drain();
    ++calls;
  });
  loop.start();
  pipe.put('a');
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
  loop.remove(pipe.read_fd);
  pipe.put('b');
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(pipe.drain(), 1);  // nobody consumed 'b'
}

// Back-pressure (a NIC with no receive buffers) turns a readable fd's
// events off without unregistering it; the data stays queued.
TEST(EventLoop, ModifyPausesAndResumesAReadableFd) {
  EventLoop loop;
  Pipe pipe;
  std::atomic<int> bytes{0};
  loop.add(pipe.read_fd, EPOLLIN, [&](uint32_t) { bytes += pipe.drain(); });
  EXPECT_TRUE(loop.modify(pipe.read_fd, 0));
  loop.start();
  pipe.put('a');
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(bytes, 0);
  EXPECT_TRUE(loop.modify(pipe.read_fd, EPOLLIN));
  EXPECT_TRUE(eventually([&] { return bytes == 1; }));
  loop.stop();
}

TEST(EventLoop, ModifyOfAnUnregisteredFdFails) {
  EventLoop loop;
  Pipe pipe;
  EXPECT_FALSE(loop.modify(pipe.read_fd, EPOLLIN));
  loop.add(pipe.read_fd, EPOLLIN, [](uint32_t) {});
  loop.remove(pipe.read_fd);
  EXPECT_FALSE(loop.modify(pipe.read_fd, EPOLLIN));
}

TEST(EventLoop, RemoveWaitsForTheRunningHandler) {
  EventLoop loop;
  Pipe pipe;
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  loop.add(pipe.read_fd, EPOLLIN, [&](uint32_t) {
    pipe.drain();
    entered = true;
    std::this_thread::sleep_for(200ms);
    finished = true;
  });
  loop.start();
  pipe.put('a');
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  loop.remove(pipe.read_fd);
  EXPECT_TRUE(finished);
}

TEST(EventLoop, HandlerMayRemoveItself) {
  EventLoop loop;
  Pipe pipe;
  std::atomic<int> calls{0};
  loop.add(pipe.read_fd, EPOLLIN, [&](uint32_t) {
    ++calls;
    loop.remove(pipe.read_fd);  // must not deadlock on dispatch_lock_
  });
  loop.start();
  pipe.put('a');  // never drained: level-triggered, would fire again if still registered
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls, 1);
  loop.stop();
}

TEST(EventLoop, HandlerMayRemoveAnotherFdAndAddOne) {
  EventLoop loop;
  Pipe first;
  Pipe second;
  std::atomic<int> second_calls{0};
  std::atomic<bool> done{false};
  loop.add(second.read_fd, EPOLLIN, [&](uint32_t) {
    second.drain();
    ++second_calls;
  });
  loop.add(first.read_fd, EPOLLIN, [&](uint32_t) {
    first.drain();
    loop.remove(second.read_fd);
    loop.add(second.read_fd, EPOLLIN, [&](uint32_t) {
      second.drain();
      done = true;
    });
  });
  loop.start();
  first.put('x');
  std::this_thread::sleep_for(50ms);
  second.put('y');
  EXPECT_TRUE(eventually([&] { return done.load(); }));
  EXPECT_EQ(second_calls, 0);
}

TEST(EventLoop, StopReturnsPromptlyAndTheIdleLoopSleeps) {
  EventLoop loop;
  Pipe pipe;
  std::atomic<long> loop_tid{0};
  loop.add(pipe.read_fd, EPOLLIN, [&](uint32_t) {
    pipe.drain();
    loop_tid = syscall(SYS_gettid);
  });
  loop.start();
  pipe.put('a');
  ASSERT_TRUE(eventually([&] { return loop_tid != 0; }));

  // Idle: the loop thread must be asleep in epoll_wait, not spinning.
  std::this_thread::sleep_for(200ms);
  std::ifstream stat("/proc/self/task/" + std::to_string(loop_tid.load()) + "/stat");
  std::string line;
  ASSERT_TRUE(std::getline(stat, line));
  // Field 3 follows "(comm)"; comm may contain spaces, so find the last ')'.
  const auto state = line.at(line.rfind(')') + 2);
  EXPECT_EQ(state, 'S') << line;

  const auto before = std::chrono::steady_clock::now();
  loop.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

TEST(EventLoop, RestartsAfterStopAndAfterStopFromAHandler) {
  EventLoop loop;
  Pipe pipe;
  std::atomic<int> calls{0};
  loop.add(pipe.read_fd, EPOLLIN, [&](uint32_t) {
    pipe.drain();
    ++calls;
    loop.stop();  // from the loop thread: must not try to join itself
  });
  loop.start();
  pipe.put('a');
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
  std::this_thread::sleep_for(50ms);
  pipe.put('b');
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls, 1);  // stopped: nobody dispatches
  loop.start();
  EXPECT_TRUE(eventually([&] { return calls == 2; }));
  loop.stop();
}

TEST(EventLoop, HandlerExceptionDoesNotKillTheLoop) {
  EventLoop loop;
  Pipe pipe;
  std::atomic<int> calls{0};
  loop.add(pipe.read_fd, EPOLLIN, [&](uint32_t) {
    pipe.drain();
    if (++calls == 1) throw std::runtime_error("boom");
  });
  loop.start();
  pipe.put('a');
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
  pipe.put('b');
  EXPECT_TRUE(eventually([&] { return calls == 2; }));
}

TEST(Timer, FiresOnceAtTheDeadline) {
  EventLoop loop;
  std::atomic<int> fired{0};
  std::atomic<int64_t> fired_at{0};
  auto timer = loop.create_timer([&] {
    fired_at = now().count();
    ++fired;
  });
  loop.start();
  const auto deadline = now() + 50ms;
  timer->arm(deadline);
  ASSERT_TRUE(eventually([&] { return fired == 1; }));
  EXPECT_GE(fired_at.load(), deadline.count());
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(fired, 1);  // one-shot
}

TEST(Timer, DeadlineInThePastFiresPromptly) {
  EventLoop loop;
  std::atomic<int> fired{0};
  auto timer = loop.create_timer([&] { ++fired; });
  loop.start();
  timer->arm(now() - 1s);
  EXPECT_TRUE(eventually([&] { return fired == 1; }, 1s));
  timer->arm(std::chrono::nanoseconds(0));  // zero must not mean "disarm"
  EXPECT_TRUE(eventually([&] { return fired == 2; }, 1s));
}

TEST(Timer, ReArmFiresAgainAndReplacesTheDeadline) {
  EventLoop loop;
  std::atomic<int> fired{0};
  auto timer = loop.create_timer([&] { ++fired; });
  loop.start();
  timer->arm(now() + 10ms);
  ASSERT_TRUE(eventually([&] { return fired == 1; }));
  timer->arm(now() + 10ms);
  ASSERT_TRUE(eventually([&] { return fired == 2; }));

  timer->arm(now() + 100s);
  timer->arm(now() + 20ms);  // replaces the far deadline
  ASSERT_TRUE(eventually([&] { return fired == 3; }));
  timer->arm(now() + 20ms);
  timer->arm(now() + 100s);  // replaces the near one
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(fired, 3);
}

TEST(Timer, CallbackMayReArmItself) {
  EventLoop loop;
  std::atomic<int> fired{0};
  std::unique_ptr<Timer> timer;
  timer = loop.create_timer([&] {
    if (++fired < 3) timer->arm(now() + 5ms);
  });
  loop.start();
  timer->arm(now());
  EXPECT_TRUE(eventually([&] { return fired == 3; }));
  loop.stop();
}

TEST(Timer, DisarmPreventsFiring) {
  EventLoop loop;
  std::atomic<int> fired{0};
  auto timer = loop.create_timer([&] { ++fired; });
  loop.start();
  timer->arm(now() + 100ms);
  timer->disarm();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fired, 0);
  timer->arm(now() + 10ms);  // still usable after a disarm
  EXPECT_TRUE(eventually([&] { return fired == 1; }));
}

TEST(Timer, DestroyedWhileArmedNeverFires) {
  EventLoop loop;
  std::atomic<int> fired{0};
  auto timer = loop.create_timer([&] { ++fired; });
  loop.start();
  timer->arm(now() + 50ms);
  timer.reset();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(fired, 0);
}

TEST(Timer, DestructionWaitsForARunningCallback) {
  EventLoop loop;
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  auto timer = loop.create_timer([&] {
    entered = true;
    std::this_thread::sleep_for(200ms);
    finished = true;
  });
  loop.start();
  timer->arm(now());
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  timer.reset();
  EXPECT_TRUE(finished);
}

TEST(Timer, CallbackMayDestroyItsOwnTimer) {
  EventLoop loop;
  std::atomic<int> fired{0};
  std::unique_ptr<Timer> timer;
  std::atomic<Timer*> armed{nullptr};  // orders the test's own use of `timer` (for TSan)
  timer = loop.create_timer([&] {
    while (armed.load() == nullptr) {
    }
    ++fired;
    timer.reset();  // runs on the loop thread: must not deadlock or use freed state
  });
  loop.start();
  Timer* raw = timer.get();
  raw->arm(now());
  armed.store(raw);  // after arm() returns: the callback may delete *raw once it sees this
  EXPECT_TRUE(eventually([&] { return fired == 1; }));
  loop.stop();
  EXPECT_EQ(timer, nullptr);
}

TEST(Timer, MayOutliveItsLoop) {
  std::unique_ptr<Timer> timer;
  {
    EventLoop loop;
    timer = loop.create_timer([] {});
    loop.start();
  }
  timer->arm(now() + 1ms);  // harmless: nobody will dispatch it
  timer->disarm();
  timer.reset();
}

TEST(Timer, ManyTimersFireInDeadlineOrder) {
  EventLoop loop;
  std::mutex order_lock;
  std::vector<int> order;
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < 3; ++i) {
    timers.push_back(loop.create_timer([&, i] {
      std::lock_guard guard(order_lock);
      order.push_back(i);
    }));
  }
  loop.start();
  const auto base = now();
  timers[0]->arm(base + 150ms);
  timers[1]->arm(base + 50ms);
  timers[2]->arm(base + 100ms);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard guard(order_lock);
    return order.size() == 3;
  }));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 0}));
}

TEST(SystemClock, MonotonicAdvancesAndRealtimeIsWallClock) {
  const auto first = system_clock().monotonic();
  std::this_thread::sleep_for(20ms);
  const auto second = system_clock().monotonic();
  EXPECT_GE(second - first, 20ms);
  EXPECT_LT(second - first, 5s);
  const auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const auto ours = system_clock().realtime();
  EXPECT_LT(std::chrono::abs(wall - ours), 1s);
}

}  // namespace
}  // namespace keel::vmm
