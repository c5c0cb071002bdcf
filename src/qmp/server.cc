#include "src/qmp/server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "src/qmp/json_framer.h"
#include "src/qmp/session.h"

namespace keel::qmp {
namespace {

constexpr uint32_t kReadable = EPOLLIN;
constexpr uint32_t kWritable = EPOLLOUT;

}  // namespace

struct QmpServer::Client {
  Client(int socket_fd, const CommandRegistry& registry, VersionInfo version, size_t max_value_bytes)
      : fd(socket_fd), session(registry, std::move(version)), framer(max_value_bytes) {}

  const int fd;
  // The loop thread's alone.
  Session session;
  JsonFramer framer;
  bool input_closed = false;  // the client shut its sending side
  // Guarded by QmpServer::lock_.
  std::string out;             // queued, not yet accepted by the socket
  bool broken = false;         // to be dropped by the loop thread
  bool events_enabled = false; // in command mode
  bool wants_input = true;
  bool more_buffered = false;  // the framer holds bytes it has not scanned
  uint32_t watched = 0;        // the events registered with the poller
};

QmpServer::QmpServer(FdPoller& poller, const CommandRegistry& registry, VersionInfo version, const Clock& clock,
                     Limits limits)
    : poller_(poller), registry_(registry), version_(std::move(version)), clock_(clock), limits_(limits) {}

template <class Handler>
void QmpServer::guarded(Handler&& handler) noexcept {
  {
    std::lock_guard guard(lock_);
    if (closing_) return;
    ++handlers_;
  }
  handler();
  std::lock_guard guard(lock_);
  if (--handlers_ == 0) handlers_done_.notify_all();
}

QmpServer::~QmpServer() {
  {
    std::lock_guard guard(lock_);
    closing_ = true;  // no handler starts from now on
  }
  // The listener first, so its handler cannot attach a new client meanwhile.
  if (listen_fd_ >= 0) poller_.remove(listen_fd_);
  std::unique_ptr<Client> gone;
  {
    std::lock_guard guard(lock_);
    gone = std::move(client_);
  }
  if (gone) {
    poller_.remove(gone->fd);  // outside lock_: a running handler may be waiting for it
    close(gone->fd);
  }
  {
    // A handler that took the client itself (drop_client) is not waited
    // for by any remove above. Never called on the loop thread, whose
    // handlers would wait for themselves.
    std::unique_lock guard(lock_);
    handlers_done_.wait(guard, [this] { return handlers_ == 0; });
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (!unlink_path_.empty()) unlink(unlink_path_.c_str());
}

void QmpServer::serve_listener(int listen_fd, std::string unlink_path) {
  if (listen_fd_ >= 0) {
    close(listen_fd);
    throw std::logic_error("QMP server: serve_listener called twice");
  }
  listen_fd_ = listen_fd;
  unlink_path_ = std::move(unlink_path);
  // Watch it only while no client is being served (one monitor, QEMU-style).
  poller_.add(listen_fd_, has_client() ? 0u : kReadable,
              [this](uint32_t) { guarded([this] { on_listener_ready(); }); });
}

void QmpServer::serve_connected(int client_fd) {
  const int flags = fcntl(client_fd, F_GETFL);
  if (flags < 0 || fcntl(client_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    close(client_fd);
    throw std::system_error(errno, std::generic_category(), "QMP: cannot make the client socket non-blocking");
  }
  attach(client_fd);
  if (listen_fd_ >= 0) poller_.modify(listen_fd_, 0);
}

bool QmpServer::has_client() const noexcept {
  std::lock_guard guard(lock_);
  return client_ != nullptr;
}

void QmpServer::attach(int client_fd) {
  auto client = std::make_unique<Client>(client_fd, registry_, version_, limits_.max_value_bytes);
  client->out = client->session.greeting();  // sent by the first wake-up (EPOLLOUT)
  client->watched = EPOLLIN | EPOLLOUT;
  {
    std::lock_guard guard(lock_);
    if (client_) {
      close(client_fd);
      throw std::logic_error("QMP server: a client is already being served");
    }
    client_ = std::move(client);
  }
  try {
    poller_.add(client_fd, EPOLLIN | EPOLLOUT,
                [this](uint32_t events) { guarded([this, events] { on_client_ready(events); }); });
  } catch (...) {
    {
      std::lock_guard guard(lock_);
      client_.reset();
    }
    close(client_fd);
    throw;
  }
  spdlog::info("QMP: client connected");
}

void QmpServer::on_listener_ready() noexcept {
  if (has_client()) {  // a wake-up from before the client came
    poller_.modify(listen_fd_, 0);
    return;
  }
  const int client_fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (client_fd < 0) return;  // EAGAIN, or the client gave up already
  poller_.modify(listen_fd_, 0);  // the next client waits in the backlog
  try {
    attach(client_fd);  // closes client_fd if it throws
  } catch (const std::exception& error) {
    spdlog::warn("QMP: cannot serve a client: {}", error.what());
    poller_.modify(listen_fd_, EPOLLIN);
  }
}

void QmpServer::on_client_ready(uint32_t events) noexcept {
  Client* client = nullptr;
  {
    std::lock_guard guard(lock_);
    client = client_.get();
    if (client == nullptr) return;
    if (!client->broken) flush_locked(*client);
    if (client->broken) client = nullptr;
  }
  if (client == nullptr) return drop_client("dropped (it does not read its replies, or its socket failed)");
  if (events & EPOLLERR) return drop_client("socket error");

  const char* failure = nullptr;
  try {
    serve_input(*client);
  } catch (const std::exception& error) {  // allocation failure: drop this client, keep keel
    spdlog::warn("QMP: {}", error.what());
    failure = "dropped after an internal error";
  }
  bool finished = false;
  {
    std::lock_guard guard(lock_);
    if (client_.get() != client) return;  // the server is going away
    client->wants_input = !client->input_closed;
    client->more_buffered = client->framer.has_unscanned_input();
    flush_locked(*client);
    finished = client->input_closed && !client->more_buffered && client->out.empty();
    if (!client->broken && !finished && failure == nullptr) update_events_locked(*client);
    if (client->broken && failure == nullptr) failure = "dropped (it does not read its replies, or its socket failed)";
  }
  if (failure != nullptr) return drop_client(failure);
  if (finished) drop_client("disconnected");
}

// Bounded: at most reads_per_wake reads and requests_per_wake requests; what
// is left is picked up on the next wake-up (EPOLLIN, or EPOLLOUT while the
// framer still holds unscanned bytes).
void QmpServer::serve_input(Client& client) {
  std::vector<char> buffer(limits_.read_chunk_bytes);
  size_t served = 0;
  size_t reads = 0;
  while (served < limits_.requests_per_wake) {
    if (auto frame = client.framer.next()) {
      std::string reply = client.session.handle(*frame);
      ++served;
      std::lock_guard guard(lock_);
      client.events_enabled = client.session.command_mode();
      queue_locked(client, reply);
      if (client.broken) return;
      continue;
    }
    if (client.input_closed || reads == limits_.reads_per_wake) return;
    const ssize_t got = recv(client.fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    ++reads;
    if (got > 0) {
      client.framer.feed(std::string_view(buffer.data(), static_cast<size_t>(got)));
    } else if (got == 0) {
      client.input_closed = true;  // answer what it sent, then close
    } else if (errno != EINTR) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      client.input_closed = true;
      std::lock_guard guard(lock_);
      client.broken = true;
      return;
    }
  }
}

void QmpServer::queue_locked(Client& client, std::string_view text) {
  if (client.broken) return;
  client.out.append(text);
  flush_locked(client);
  if (client.out.size() > limits_.max_output_bytes) {
    spdlog::warn("QMP: the client does not read its replies ({} bytes unread); dropping it", client.out.size());
    client.broken = true;
  }
  if (client.broken) {
    client.out.clear();
    client.out.shrink_to_fit();
    // Wakes the loop thread (EPOLLHUP) to drop the client even if it never
    // sends or reads again; only that thread closes the fd.
    shutdown(client.fd, SHUT_RDWR);
  }
}

void QmpServer::flush_locked(Client& client) noexcept {
  while (!client.out.empty() && !client.broken) {
    const ssize_t sent = send(client.fd, client.out.data(), client.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent > 0) {
      client.out.erase(0, static_cast<size_t>(sent));
    } else if (sent < 0 && errno == EINTR) {
      continue;
    } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;  // EPOLLOUT tells the loop when there is room again
    } else {
      client.broken = true;  // EPIPE, ECONNRESET: it went away
    }
  }
}

void QmpServer::update_events_locked(Client& client) noexcept {
  const uint32_t wanted = (client.wants_input ? kReadable : 0u) |
                          (!client.out.empty() || client.more_buffered ? kWritable : 0u);
  if (wanted != client.watched && poller_.modify(client.fd, wanted)) client.watched = wanted;
}

void QmpServer::emit_event(std::string_view name, const Json& data) noexcept {
  try {
    const std::string text = format_event(name, data, clock_.realtime());
    std::lock_guard guard(lock_);
    if (!client_ || !client_->events_enabled || client_->broken) return;
    queue_locked(*client_, text);
    if (!client_->broken) update_events_locked(*client_);
  } catch (const std::exception& error) {
    spdlog::warn("QMP: event {} not sent: {}", name, error.what());
  }
}

void QmpServer::drop_client(const char* why) noexcept {
  std::unique_ptr<Client> gone;
  {
    std::lock_guard guard(lock_);
    gone = std::move(client_);
  }
  if (!gone) return;
  poller_.remove(gone->fd);  // called on the loop thread: does not wait
  close(gone->fd);
  spdlog::info("QMP: client {}", why);
  if (listen_fd_ >= 0) poller_.modify(listen_fd_, EPOLLIN);  // serve the next one
}

}  // namespace keel::qmp
