// The unix:PATH backend: see backends.h for the behaviour.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "src/console/backends.h"
#include "src/console/fd_io.h"
#include "src/sockets/unix_listener.h"

namespace keel::console {
namespace {

constexpr size_t kReadChunk = 4096;

}  // namespace

UnixSocketConsole::UnixSocketConsole(const std::filesystem::path& path, vmm::EventLoop& loop)
    : loop_(loop), path_(path.string()) {
  listen_fd_ = sockets::open_unix_listener(path_, "serial socket");
  try {
    loop_.add(listen_fd_, EPOLLIN, [this](uint32_t) { on_connection(); });
  } catch (...) {
    close(listen_fd_);
    unlink(path_.c_str());
    throw;
  }
  spdlog::info("serial socket '{}': waiting for a client", path_);
}

UnixSocketConsole::~UnixSocketConsole() {
  loop_.remove(listen_fd_);  // no new clients after this
  int client = -1;
  {
    // Take the client away from the handlers first, so none of them closes
    // it (and lets its number be reused) before we have unregistered it.
    std::lock_guard guard(client_lock_);
    client = std::exchange(client_fd_, -1);
  }
  if (client >= 0) {
    loop_.remove(client);  // outside client_lock_: a running handler may be waiting for it
    close(client);
  }
  close(listen_fd_);
  unlink(path_.c_str());
}

void UnixSocketConsole::on_connection() noexcept {
  const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (client < 0) return;  // EAGAIN, or the client gave up already
  std::lock_guard guard(client_lock_);
  if (client_fd_ >= 0) {
    spdlog::info("serial socket '{}': refusing a second client", path_);
    close(client);
    return;
  }
  try {
    loop_.add(client, EPOLLIN | EPOLLRDHUP, [this](uint32_t) { on_client_input(); });
  } catch (const std::exception& e) {
    spdlog::warn("serial socket '{}': cannot watch the client: {}", path_, e.what());
    close(client);
    return;
  }
  client_fd_ = client;
  drop_reported_ = false;
  spdlog::info("serial socket '{}': client connected", path_);
}

void UnixSocketConsole::on_client_input() noexcept {
  int client = -1;
  {
    std::lock_guard guard(client_lock_);
    client = client_fd_;
  }
  if (client < 0) return;
  std::byte buffer[kReadChunk];
  const ssize_t got = recv(client, buffer, sizeof buffer, 0);
  if (got > 0) {
    deliver_input(std::span<const std::byte>(buffer, static_cast<size_t>(got)));
    return;
  }
  if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
  disconnect_client();  // 0: the client closed; < 0: it is broken
}

void UnixSocketConsole::disconnect_client() noexcept {
  std::lock_guard guard(client_lock_);
  if (client_fd_ < 0) return;
  loop_.remove(client_fd_);  // on the loop thread, from the client's own handler
  close(client_fd_);
  client_fd_ = -1;
  spdlog::info("serial socket '{}': client disconnected", path_);
}

void UnixSocketConsole::emit(std::span<const std::byte> bytes) noexcept {
  std::lock_guard guard(client_lock_);
  if (client_fd_ < 0) return;  // no client: dropped
  // Never wait: a client that stops reading loses output, the guest does not stall.
  const WriteOutcome outcome = write_all(client_fd_, bytes, 0, /*is_socket=*/true);
  if (outcome == WriteOutcome::timed_out && !drop_reported_.exchange(true)) {
    spdlog::info("serial socket '{}': the client is not keeping up; guest output is being dropped", path_);
  }
  // A failed send means the client went away; its read handler disconnects it.
}

}  // namespace keel::console
