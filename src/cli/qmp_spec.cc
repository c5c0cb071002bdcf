#include "src/cli/qmp_spec.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::cli {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";
// sun_path holds 108 bytes with its terminating NUL.
constexpr size_t kMaxSocketPath = 107;

// "on"/"off" (QEMU's bool spelling); nullopt for anything else.
std::optional<bool> parse_switch(std::string_view value) {
  if (value == "on") return true;
  if (value == "off") return false;
  return std::nullopt;
}

[[noreturn]] void bad_option(std::string_view text, std::string_view option) {
  throw ConfigError(fmt::format("invalid --qmp '{}': unknown option '{}' (expected server=on, wait=on or wait=off)",
                                text, option));
}

}  // namespace

vmm::QmpSpec parse_qmp_spec(std::string_view text) {
  if (!text.starts_with(kUnixPrefix)) {
    throw ConfigError(fmt::format("invalid --qmp '{}': expected unix:PATH[,server=on][,wait=off] (keel serves QMP on "
                                  "unix sockets only)",
                                  text));
  }
  const std::string_view rest = text.substr(kUnixPrefix.size());
  const size_t comma = rest.find(',');
  const std::string_view path = rest.substr(0, comma);
  if (path.empty()) throw ConfigError(fmt::format("invalid --qmp '{}': the socket path is empty", text));
  if (path.size() > kMaxSocketPath) {
    throw ConfigError(fmt::format("invalid --qmp '{}': the socket path is longer than {} bytes", text, kMaxSocketPath));
  }
  std::optional<bool> server;
  std::optional<bool> wait;
  std::string_view options = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  while (comma != std::string_view::npos) {
    const size_t next = options.find(',');
    const std::string_view option = options.substr(0, next);
    const size_t equals = option.find('=');
    const std::string_view key = option.substr(0, equals);
    std::optional<bool> value = true;  // a bare `server` / `wait` means on
    if (equals != std::string_view::npos) value = parse_switch(option.substr(equals + 1));
    if (key == "nowait" && equals == std::string_view::npos) {
      wait = false;
    } else if ((key == "server" || key == "wait") && value) {
      (key == "server" ? server : wait) = *value;
    } else {
      bad_option(text, option);
    }
    if (next == std::string_view::npos) break;
    options.remove_prefix(next + 1);
  }
  if (server == false) {
    throw ConfigError(fmt::format("invalid --qmp '{}': server=off (connecting to a client's socket) is not supported; "
                                  "keel only listens (server=on)",
                                  text));
  }
  vmm::QmpSpec spec;
  spec.socket_path = std::string(path);
  // QEMU: wait defaults to on for a server; keel's bare unix:PATH does not wait.
  spec.wait_for_client = server.has_value() ? wait.value_or(true) : wait.value_or(false);
  return spec;
}

void check_qmp_fd(int fd) {
  struct stat info {};
  if (fd < 0 || fstat(fd, &info) != 0) {
    throw ConfigError(fmt::format("--qmp-fd {}: not an open file descriptor", fd));
  }
  if (!S_ISSOCK(info.st_mode)) throw ConfigError(fmt::format("--qmp-fd {}: not a socket", fd));
  int type = 0;
  socklen_t length = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) {
    throw ConfigError(fmt::format("--qmp-fd {}: not a stream socket", fd));
  }
  int listening = 0;
  length = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening != 0) {
    throw ConfigError(fmt::format("--qmp-fd {}: a listening socket; --qmp-fd takes a connected one", fd));
  }
}

}  // namespace keel::cli
