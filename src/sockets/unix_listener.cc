#include "src/sockets/unix_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::sockets {
namespace {

std::string error_text(int error) { return std::generic_category().message(error); }

[[noreturn]] void refuse(std::string_view what, const std::string& path, const std::string& why) {
  throw ConfigError(fmt::format("{} '{}': {}", what, path, why));
}

// True when something accepts connections on `address` right now.
bool someone_listens(const sockaddr_un& address) {
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  const bool listening = connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  close(probe);
  return listening;
}

}  // namespace

int open_unix_listener(const std::string& path, std::string_view what) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    refuse(what, path, fmt::format("path must be 1 to {} bytes long", sizeof address.sun_path - 1));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) refuse(what, path, error_text(errno));
  auto bind_socket = [&] { return bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0; };
  try {
    if (!bind_socket()) {
      if (errno != EADDRINUSE) refuse(what, path, error_text(errno));
      struct stat existing {};
      if (lstat(path.c_str(), &existing) != 0 || !S_ISSOCK(existing.st_mode)) {
        refuse(what, path, "path exists and is not a socket");
      }
      if (someone_listens(address)) refuse(what, path, "already in use by another process");
      unlink(path.c_str());  // left behind by a process that is gone
      if (!bind_socket()) refuse(what, path, error_text(errno));
    }
    if (listen(fd, 1) != 0) {
      const int error = errno;
      unlink(path.c_str());
      refuse(what, path, error_text(error));
    }
  } catch (...) {
    close(fd);
    throw;
  }
  return fd;
}

}  // namespace keel::sockets
