#include "src/console/fd_io.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace keel::console {

WriteOutcome write_all(int fd, std::span<const std::byte> bytes, int stall_limit_ms, bool is_socket) noexcept {
  while (!bytes.empty()) {
    const ssize_t written = is_socket ? send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                                      : ::write(fd, bytes.data(), bytes.size());
    if (written >= 0) {
      bytes = bytes.subspan(static_cast<size_t>(written));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return WriteOutcome::failed;
    pollfd wait_for_room{.fd = fd, .events = POLLOUT, .revents = 0};
    const int ready = poll(&wait_for_room, 1, stall_limit_ms);
    if (ready == 0) return WriteOutcome::timed_out;
    if (ready < 0 && errno != EINTR) return WriteOutcome::failed;
  }
  return WriteOutcome::complete;
}

std::string error_text(int errnum) { return std::generic_category().message(errnum); }

}  // namespace keel::console
