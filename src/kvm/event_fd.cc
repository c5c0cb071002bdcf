#include "src/kvm/event_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "src/kvm/host_error.h"

namespace keel::kvm {

UniqueFd create_eventfd() {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw_host_error("eventfd", errno);
  return UniqueFd(fd);
}

int signal_eventfd(int fd) noexcept {
  const uint64_t one = 1;
  for (;;) {
    if (::write(fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one)) return 0;
    if (errno == EAGAIN) return 0;
    if (errno != EINTR) return errno;
  }
}

uint64_t drain_eventfd(int fd) noexcept {
  uint64_t count = 0;
  for (;;) {
    if (::read(fd, &count, sizeof count) == static_cast<ssize_t>(sizeof count)) return count;
    if (errno != EINTR) return 0;
  }
}

}  // namespace keel::kvm
