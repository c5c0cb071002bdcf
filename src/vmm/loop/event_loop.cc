#include "src/vmm/loop/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <future>
#include <system_error>

#include <spdlog/spdlog.h>

namespace keel::vmm {
namespace {

// epoll_event.data.u64 = token << 32 | fd. Tokens start at 1, so the wake
// eventfd's key 0 cannot be confused with a registration.
constexpr uint64_t kWakeKey = 0;

uint64_t make_key(uint64_t token, int fd) noexcept {
  return (token << 32) | static_cast<uint32_t>(fd);
}
int key_fd(uint64_t key) noexcept { return static_cast<int>(static_cast<uint32_t>(key)); }
uint64_t key_token(uint64_t key) noexcept { return key >> 32; }

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

EventLoop::EventLoop() : timer_anchor_(std::make_shared<TimerAnchor>()) {
  timer_anchor_->loop = this;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("epoll_create1");
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int saved = errno;
    close(epoll_fd_);
    errno = saved;
    throw_errno("eventfd");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWakeKey;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) {
    const int saved = errno;
    close(wake_fd_);
    close(epoll_fd_);
    errno = saved;
    throw_errno("epoll_ctl(wake eventfd)");
  }
}

EventLoop::~EventLoop() {
  stop();
  {
    // Timers that outlive us must not call back into this object.
    std::unique_lock anchor_guard(timer_anchor_->lock);
    timer_anchor_->loop = nullptr;
  }
  close(wake_fd_);
  close(epoll_fd_);
}

bool EventLoop::on_loop_thread() const noexcept {
  return loop_thread_id_.load() == std::this_thread::get_id();
}

void EventLoop::add(int fd, uint32_t epoll_events, Handler handler) {
  if (fd < 0) throw std::system_error(EBADF, std::generic_category(), "EventLoop::add");
  auto shared_handler = std::make_shared<Handler>(std::move(handler));
  std::lock_guard guard(lock_);
  if (handlers_.contains(fd)) throw std::system_error(EEXIST, std::generic_category(), "EventLoop::add");
  const uint32_t token = next_token_;
  epoll_event event{};
  event.events = epoll_events;
  event.data.u64 = make_key(token, fd);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) throw_errno("epoll_ctl(EPOLL_CTL_ADD)");
  next_token_ = token == UINT32_MAX ? 1 : token + 1;  // never 0, the wake key
  handlers_.emplace(fd, Registration{token, std::move(shared_handler)});
}

void EventLoop::remove(int fd) noexcept {
  Registration removed;
  {
    std::lock_guard guard(lock_);
    auto it = handlers_.find(fd);
    if (it == handlers_.end()) return;
    removed = std::move(it->second);
    handlers_.erase(it);
    // Fails only if the fd was already closed, which also removed it from
    // the epoll set; either way it is gone.
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  }
  if (!on_loop_thread()) {
    // Wait for a handler that is running right now (it may be this fd's).
    std::lock_guard wait_for_dispatch(dispatch_lock_);
  }
  // `removed` (the handler and what it captured) is destroyed here, outside
  // lock_, so a capture whose destructor calls back into the loop is fine.
}

bool EventLoop::modify(int fd, uint32_t epoll_events) noexcept {
  std::lock_guard guard(lock_);
  auto it = handlers_.find(fd);
  if (it == handlers_.end()) return false;
  epoll_event event{};
  event.events = epoll_events;
  event.data.u64 = make_key(it->second.token, fd);
  return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) == 0;
}

void EventLoop::start() {
  std::lock_guard start_stop_guard(start_stop_lock_);
  if (thread_.joinable()) {
    {
      std::lock_guard guard(lock_);
      if (!stopping_) return;  // already running
    }
    thread_.join();  // a handler asked it to stop; reap it before restarting
  }
  {
    std::lock_guard guard(lock_);
    stopping_ = false;
  }
  uint64_t drained = 0;
  while (read(wake_fd_, &drained, sizeof drained) > 0) {
  }
  if (!thread_start_hook_) {
    thread_ = std::thread([this] { run(); });
    return;
  }
  std::promise<void> hook_done;
  std::future<void> hook_result = hook_done.get_future();
  thread_ = std::thread([this, hook_done = std::move(hook_done)]() mutable {
    try {
      thread_start_hook_();
    } catch (...) {
      hook_done.set_exception(std::current_exception());
      return;
    }
    hook_done.set_value();
    run();
  });
  try {
    hook_result.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

void EventLoop::set_thread_start_hook(std::function<void()> hook) {
  std::lock_guard start_stop_guard(start_stop_lock_);
  thread_start_hook_ = std::move(hook);
}

void EventLoop::stop() noexcept {
  {
    std::lock_guard guard(lock_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  // Can only fail (EAGAIN) if the counter is saturated, which already wakes it.
  [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof one);
  if (on_loop_thread()) return;  // cannot join ourselves; start()/~EventLoop reap it
  std::lock_guard start_stop_guard(start_stop_lock_);
  if (thread_.joinable()) thread_.join();
}

void EventLoop::dispatch(uint64_t key, uint32_t epoll_events) noexcept {
  // Held for the whole call so remove() from another thread can wait for it.
  std::lock_guard dispatch_guard(dispatch_lock_);
  std::shared_ptr<Handler> handler;
  {
    std::lock_guard guard(lock_);
    if (stopping_) return;
    auto it = handlers_.find(key_fd(key));
    if (it == handlers_.end() || it->second.token != key_token(key)) return;  // removed meanwhile
    // A copy: the handler may remove itself (destroying the map's reference).
    handler = it->second.handler;
  }
  try {
    (*handler)(epoll_events);
  } catch (const std::exception& e) {
    spdlog::error("event loop: handler for fd {} threw: {}", key_fd(key), e.what());
  } catch (...) {
    spdlog::error("event loop: handler for fd {} threw", key_fd(key));
  }
}

void EventLoop::run() noexcept {
  loop_thread_id_.store(std::this_thread::get_id());
  constexpr int kMaxEvents = 32;
  epoll_event events[kMaxEvents];
  for (;;) {
    const int count = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
    if (count < 0) {
      if (errno == EINTR) continue;
      spdlog::error("event loop: epoll_wait failed: {}", std::system_category().message(errno));
      break;
    }
    for (int i = 0; i < count; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == kWakeKey) {
        uint64_t drained = 0;
        [[maybe_unused]] ssize_t got = read(wake_fd_, &drained, sizeof drained);
        continue;
      }
      dispatch(key, events[i].events);
    }
    std::lock_guard guard(lock_);
    if (stopping_) break;
  }
  loop_thread_id_.store(std::thread::id{});
}

}  // namespace keel::vmm
