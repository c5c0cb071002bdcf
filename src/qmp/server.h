// The QMP server: serves one client at a time on keel's event loop (through
// the FdPoller interface, so this folder depends on include/keel only), as
// QEMU does with one monitor: while a client is connected the listening
// socket is not watched and the next client waits in the kernel's backlog.
//
// Everything on the client's socket is non-blocking. Each wake-up does
// bounded work (a few reads, at most kRequestsPerWake requests), so a client
// flooding the socket cannot monopolise the loop. A client whose unsent
// output passes Limits::max_output_bytes (it does not read its replies) is
// dropped; one that goes away mid-command is dropped when its socket says
// so; a value over Limits::max_value_bytes is answered with an error.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "keel/clock.h"
#include "keel/fd_poller.h"
#include "src/qmp/command_registry.h"

namespace keel::qmp {

class QmpServer {
 public:
  struct Limits {
    size_t max_value_bytes = 64 * 1024;      // one request
    size_t max_output_bytes = 1024 * 1024;   // replies and events not yet read
    size_t requests_per_wake = 16;
    size_t reads_per_wake = 4;
    size_t read_chunk_bytes = 16 * 1024;
  };

  // `registry` (complete by now) and `clock` (for event timestamps) must
  // outlive the server; `poller` too, and the server must be destroyed
  // before the loop behind it is.
  QmpServer(FdPoller& poller, const CommandRegistry& registry, VersionInfo version, const Clock& clock,
            Limits limits);
  QmpServer(FdPoller& poller, const CommandRegistry& registry, VersionInfo version, const Clock& clock)
      : QmpServer(poller, registry, std::move(version), clock, Limits{}) {}
  ~QmpServer();
  QmpServer(const QmpServer&) = delete;
  QmpServer& operator=(const QmpServer&) = delete;

  // Serve clients of a listening socket, one after another; the server owns
  // `listen_fd` from now on (closes it even when this throws). `unlink_path`,
  // when set, is removed when the server goes. Call at most once, before any
  // other serve_*.
  void serve_listener(int listen_fd, std::string unlink_path = {});
  // Serve an already connected socket (--qmp-fd); the server owns it. Once
  // it disconnects, clients of a listener (if any) are served again.
  void serve_connected(int client_fd);

  // Send an event to the client if it is in command mode (QEMU sends none
  // during negotiation). Any thread; never blocks. `data` null: no "data".
  void emit_event(std::string_view name, const Json& data = Json()) noexcept;

  bool has_client() const noexcept;

 private:
  struct Client;

  // Runs `handler` unless the server is going away, counted in handlers_
  // so the destructor can wait for it to return.
  template <class Handler>
  void guarded(Handler&& handler) noexcept;
  void on_listener_ready() noexcept;
  void on_client_ready(uint32_t events) noexcept;
  void attach(int client_fd);
  void serve_input(Client& client);
  void drop_client(const char* why) noexcept;
  // These need lock_.
  void queue_locked(Client& client, std::string_view text);
  void flush_locked(Client& client) noexcept;
  void update_events_locked(Client& client) noexcept;

  FdPoller& poller_;
  const CommandRegistry& registry_;
  const VersionInfo version_;
  const Clock& clock_;
  const Limits limits_;

  int listen_fd_ = -1;
  std::string unlink_path_;

  // Guards client_ (the pointer and its output side: out, broken, the
  // watched events). The input side (framer, session) belongs to the loop
  // thread. Command handlers run without it, so they may emit events.
  mutable std::mutex lock_;
  std::unique_ptr<Client> client_;
  // A handler may drop the client (taking client_) while the destructor
  // runs on another thread; the destructor then has no fd whose removal
  // would wait for that handler, so it waits for handlers_ to reach 0.
  bool closing_ = false;
  int handlers_ = 0;
  std::condition_variable handlers_done_;
};

}  // namespace keel::qmp
