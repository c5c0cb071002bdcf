// Small fd helpers shared by the console backends.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace keel::console {

enum class WriteOutcome { complete, timed_out, failed };

// Writes all of `bytes` to `fd`, retrying on EINTR and partial writes. When
// the fd is non-blocking and full (EAGAIN), waits up to `stall_limit_ms` for
// it to drain each time before giving up with timed_out. For a socket
// (`is_socket`) it uses send(MSG_NOSIGNAL), so a vanished peer is EPIPE and
// never SIGPIPE.
[[nodiscard]] WriteOutcome write_all(int fd, std::span<const std::byte> bytes, int stall_limit_ms,
                                     bool is_socket = false) noexcept;

// strerror(errnum) as a std::string (thread-safe).
std::string error_text(int errnum);

}  // namespace keel::console
