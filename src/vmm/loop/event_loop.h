// The I/O event loop: one thread blocking in epoll_wait, dispatching ready
// fds to the handlers registered for them, plus timerfd-backed timers.
// No busy polling.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "keel/clock.h"
#include "keel/fd_poller.h"

namespace keel::vmm {

class EventLoop final : public TimerFactory, public FdPoller {
 public:
  using Handler = FdPoller::Handler;

  EventLoop();  // throws std::system_error if epoll/eventfd cannot be made
  ~EventLoop() override;  // stops and joins the thread
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Register `fd` for `epoll_events` (EPOLLIN, ...), level-triggered. Handlers
  // run on the loop thread, one at a time. Throws std::system_error on failure
  // (EPERM for fds epoll cannot watch, such as regular files; EEXIST when `fd`
  // is already registered).
  void add(int fd, uint32_t epoll_events, Handler handler) override;
  // Unregister; after it returns the handler is not running and won't run
  // again (unless called from that handler itself, which is allowed). Must
  // not be called from another thread while holding a lock the handler takes.
  // Call it before closing `fd`.
  void remove(int fd) noexcept override;
  bool modify(int fd, uint32_t epoll_events) noexcept override;

  // Spawn the loop thread (again after a stop()). With a thread-start hook,
  // the new thread runs it first and start() returns only once it has: if
  // the hook throws, the thread ends and start() rethrows its exception.
  void start();
  // Run `hook` on the loop thread each time it starts, before any handler
  // (keel installs the thread's seccomp filter here). Call before start().
  void set_thread_start_hook(std::function<void()> hook);
  // Wake the thread, let it finish the current handler, join. From a handler
  // on the loop thread it only asks the loop to end (it cannot join itself).
  void stop() noexcept;

  // Timers are one-shot timerfds on CLOCK_MONOTONIC registered on this loop.
  // A Timer may outlive the loop (it then never fires); destroying it waits
  // for a running callback on another thread, like remove().
  std::unique_ptr<Timer> create_timer(std::function<void()> on_expire) override;

 private:
  // An fd's registration. `token` travels in epoll_event.data so an event
  // that was already returned by epoll_wait for an fd that has since been
  // removed (and perhaps reused for another registration) is not delivered
  // to the wrong handler.
  struct Registration {
    uint32_t token;
    std::shared_ptr<Handler> handler;
  };
  // Shared with every Timer so a Timer destroyed after its loop does not
  // touch a dead EventLoop.
  struct TimerAnchor {
    // Shared by timer destructors (which may wait in remove() while a timer
    // callback destroys another timer); exclusive when the loop detaches.
    std::shared_mutex lock;
    EventLoop* loop;  // nullptr once the loop is gone
  };
  class TimerFdTimer;

  void run() noexcept;
  void dispatch(uint64_t key, uint32_t epoll_events) noexcept;
  bool on_loop_thread() const noexcept;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::mutex lock_;  // guards handlers_, next_token_, stopping_
  std::unordered_map<int, Registration> handlers_;
  uint32_t next_token_ = 1;  // 0 is reserved for the wake eventfd
  bool stopping_ = false;
  std::mutex dispatch_lock_;  // held while a handler runs; remove() waits on it
  std::mutex start_stop_lock_;  // serializes start() and stop() (thread_)
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_id_{};
  std::function<void()> thread_start_hook_;  // guarded by start_stop_lock_
  std::shared_ptr<TimerAnchor> timer_anchor_;
};

}  // namespace keel::vmm
