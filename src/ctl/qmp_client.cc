#include "src/ctl/qmp_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace keel::ctl {
namespace {

using namespace std::chrono_literals;

std::string errno_text(int error) { return std::generic_category().message(error); }

// Milliseconds left until `deadline` for poll(), rounded up so a deadline a
// fraction of a millisecond away is not a busy loop; 0 once it has passed.
int poll_timeout_ms(SteadyClock::time_point deadline) {
  const auto left = deadline - SteadyClock::now();
  if (left <= SteadyClock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

// The start of what a non-QMP peer sent, safe to put on one line.
std::string snippet(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > 40) out += "...";
  return out;
}

}  // namespace

QmpClient::QmpClient(int fd, std::string path) noexcept
    : fd_(fd), path_(std::move(path)), framer_(kMaxReplyBytes) {}

QmpClient::QmpClient(QmpClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      framer_(std::move(other.framer_)),
      next_id_(other.next_id_),
      peer_closed_(other.peer_closed_) {}

QmpClient::~QmpClient() {
  if (fd_ >= 0) close(fd_);
}

void QmpClient::fail(std::string_view why, bool timed_out) const {
  throw CtlFailure(kExitUnreachable, fmt::format("{}: {}", path_, why), timed_out);
}

QmpClient QmpClient::connect(const std::string& path, SteadyClock::time_point deadline) {
  sockaddr_un address{};
  if (path.empty()) throw CtlFailure(kExitUsage, "--qmp: empty path");
  if (path.size() >= sizeof address.sun_path) {
    throw CtlFailure(kExitUsage, fmt::format("--qmp '{}': longer than {} bytes, the limit of a unix socket path",
                                             path, sizeof address.sun_path - 1));
  }
  // Checked first so the usual mistakes get their own words, not connect()'s.
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    throw CtlFailure(kExitUnreachable, fmt::format("--qmp '{}': {}", path, errno_text(errno)));
  }
  if (!S_ISSOCK(info.st_mode)) {
    throw CtlFailure(kExitUnreachable, fmt::format("--qmp '{}': not a unix socket", path));
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw CtlFailure(kExitUnreachable, fmt::format("socket: {}", errno_text(errno)));
  QmpClient client(fd, path);
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  // A unix socket's non-blocking connect either completes or fails at once;
  // EAGAIN means the listener's backlog is full, so try again until the deadline.
  while (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    if (error == EAGAIN) {
      throw CtlFailure(kExitUnreachable, fmt::format("--qmp '{}': its listen backlog stayed full", path),
                       /*timed_out=*/true);
    }
    if (error == ECONNREFUSED) {
      throw CtlFailure(kExitUnreachable,
                       fmt::format("--qmp '{}': {} (no VM is listening: a stale socket?)", path, errno_text(error)));
    }
    throw CtlFailure(kExitUnreachable, fmt::format("--qmp '{}': {}", path, errno_text(error)));
  }

  // QEMU and keel serve one client at a time: the next one is connected but
  // gets no greeting until the first leaves.
  const Json greeting = client.read_message(deadline, "the QMP greeting (is another client connected?)");
  if (!greeting.contains("QMP") || !greeting["QMP"].is_object()) {
    client.fail(fmt::format("not a QMP greeting: '{}'", snippet(greeting.dump())));
  }
  const QmpReply negotiated = client.execute("qmp_capabilities", Json(), deadline);
  if (!negotiated.ok) {
    throw CtlFailure(kExitVmError, fmt::format("{}: {}", negotiated.error_class, negotiated.error_desc));
  }
  return client;
}

Json QmpClient::read_message(SteadyClock::time_point deadline, std::string_view waiting_for) {
  for (;;) {
    if (std::optional<qmp::Frame> frame = framer_.next()) {
      if (frame->kind == qmp::Frame::Kind::error) fail(fmt::format("bad message from the peer: {}", frame->text));
      Json message = Json::parse(frame->text, nullptr, /*allow_exceptions=*/false);
      if (message.is_discarded() || !message.is_object()) {
        fail(fmt::format("not a QMP message: '{}'", snippet(frame->text)));
      }
      return message;
    }
    const int wait_ms = poll_timeout_ms(deadline);
    if (wait_ms == 0) fail(fmt::format("timed out waiting for {}", waiting_for), /*timed_out=*/true);
    pollfd ready{fd_, POLLIN, 0};
    const int polled = poll(&ready, 1, wait_ms);
    if (polled < 0 && errno != EINTR) fail(fmt::format("poll: {}", errno_text(errno)));
    if (polled <= 0) continue;  // the deadline is checked at the top
    char chunk[16384];
    const ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
    if (got == 0) {
      peer_closed_ = true;
      fail(fmt::format("connection closed while waiting for {}", waiting_for));
    }
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fail(fmt::format("connection lost: {}", errno_text(errno)));
    }
    framer_.feed(std::string_view(chunk, static_cast<size_t>(got)));
  }
}

void QmpClient::send_all(std::string_view text, SteadyClock::time_point deadline) {
  while (!text.empty()) {
    const ssize_t sent = send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      text.remove_prefix(static_cast<size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno != EAGAIN) fail(fmt::format("connection lost: {}", errno_text(errno)));
    const int wait_ms = poll_timeout_ms(deadline);
    if (wait_ms == 0) fail("timed out sending a command (the peer reads nothing)", /*timed_out=*/true);
    pollfd ready{fd_, POLLOUT, 0};
    if (poll(&ready, 1, wait_ms) < 0 && errno != EINTR) fail(fmt::format("poll: {}", errno_text(errno)));
  }
}

QmpReply QmpClient::execute(std::string_view command, const Json& arguments, SteadyClock::time_point deadline) {
  const uint64_t id = next_id_++;
  Json request = {{"execute", command}};
  if (!arguments.is_null()) request["arguments"] = arguments;
  request["id"] = id;
  send_all(request.dump() + "\n", deadline);

  const std::string waiting_for = fmt::format("the reply to '{}'", command);
  for (;;) {
    const Json message = read_message(deadline, waiting_for);
    if (message.contains("event")) continue;  // asynchronous: not ours to print
    const bool has_return = message.contains("return");
    const bool has_error = message.contains("error");
    if (!has_return && !has_error) continue;
    // A reply without an id answers a request the server could not read far
    // enough to find ours; only an error can be such a reply.
    const auto found = message.find("id");
    if (found != message.end() ? *found != Json(id) : !has_error) continue;  // someone else's reply
    QmpReply reply;
    if (has_return) {
      reply.ok = true;
      reply.value = message["return"];
      return reply;
    }
    const Json& error = message["error"];
    if (!error.is_object() || !error.contains("class") || !error["class"].is_string() || !error.contains("desc") ||
        !error["desc"].is_string()) {
      fail(fmt::format("malformed QMP error: '{}'", snippet(message.dump())));
    }
    reply.error_class = error["class"].get<std::string>();
    reply.error_desc = error["desc"].get<std::string>();
    return reply;
  }
}

bool QmpClient::wait_for_shutdown(SteadyClock::time_point deadline) {
  try {
    for (;;) {
      const Json message = read_message(deadline, "the VM to power off");
      const auto event = message.find("event");
      if (event != message.end() && *event == "SHUTDOWN") return true;
    }
  } catch (const CtlFailure& e) {
    if (e.timed_out()) return false;
    if (peer_closed_) return true;  // the VM exited (QEMU closes without a SHUTDOWN when killed)
    throw;
  }
}

}  // namespace keel::ctl
