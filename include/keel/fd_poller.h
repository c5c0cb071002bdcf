// Watching file descriptors from the I/O event loop (src/vmm/loop), as
// devices see it: eventfds of doorbells, io_uring completion eventfds,
// resample eventfds. Handlers run on the loop thread, one at a time.
#pragma once

#include <cstdint>
#include <functional>

namespace keel {

class FdPoller {
 public:
  using Handler = std::function<void(uint32_t epoll_events)>;
  virtual ~FdPoller() = default;
  // Level-triggered registration for `epoll_events` (EPOLLIN, ...). Throws
  // std::system_error on failure (EEXIST when `fd` is already registered).
  virtual void add(int fd, uint32_t epoll_events, Handler handler) = 0;
  // After it returns the handler is not running and will not run again
  // (calling it from the handler itself is allowed). Call before close(fd).
  virtual void remove(int fd) noexcept = 0;
  // Change the events a registered `fd` is watched for (0: none for now,
  // e.g. a NIC backend under back-pressure). Never blocks and never waits
  // for a running handler, so any thread may call it, holding any lock.
  // Returns false when `fd` is not registered or epoll refuses.
  virtual bool modify(int fd, uint32_t epoll_events) noexcept = 0;
};

}  // namespace keel
