// The client side of QMP for `keel ctl`: connect to a VM's QMP socket, read
// the greeting, negotiate capabilities and run commands one at a time.
//
// Every step is bounded by one deadline (poll on a non-blocking socket), so
// a peer that sends nothing, sends garbage or never answers costs at most
// the caller's timeout. Asynchronous events that arrive while a reply is
// awaited are skipped; replies may come split across reads or several in one.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/ctl/exit_status.h"
#include "src/qmp/json_framer.h"

namespace keel::ctl {

using Json = nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;

// A failure that ends `keel ctl`: the exit status and the one-line message
// (without the "keel ctl: " prefix).
class CtlFailure : public std::runtime_error {
 public:
  CtlFailure(int status, const std::string& message, bool timed_out = false)
      : std::runtime_error(message), status_(status), timed_out_(timed_out) {}
  int status() const noexcept { return status_; }
  // The deadline passed (the caller adds the --timeout to the message).
  bool timed_out() const noexcept { return timed_out_; }

 private:
  int status_;
  bool timed_out_;
};

// The VM's answer to one command: `return` or `error`.
struct QmpReply {
  bool ok = false;
  Json value;               // ok: the `return` member
  std::string error_class;  // !ok: error.class and error.desc
  std::string error_desc;
};

class QmpClient {
 public:
  // Connects to the unix socket at `path`, reads the greeting and sends
  // qmp_capabilities. Throws CtlFailure: kExitUsage for a path that cannot be
  // a socket address (empty, too long), kExitUnreachable for everything else.
  static QmpClient connect(const std::string& path, SteadyClock::time_point deadline);

  QmpClient(QmpClient&& other) noexcept;
  QmpClient& operator=(QmpClient&&) = delete;
  QmpClient(const QmpClient&) = delete;
  ~QmpClient();

  // Sends {"execute": command, "arguments"?: arguments, "id": N} and waits
  // for the reply with that id, skipping events. `arguments` null: none.
  // Throws CtlFailure(kExitUnreachable) on timeout, EOF or a reply that is
  // not QMP.
  QmpReply execute(std::string_view command, const Json& arguments, SteadyClock::time_point deadline);

  // Waits for the VM to stop: its SHUTDOWN event, or the connection closing
  // (the VM exited). Returns false when `deadline` passes first. Throws
  // CtlFailure(kExitUnreachable) when the connection breaks otherwise or
  // the peer sends something that is not QMP.
  bool wait_for_shutdown(SteadyClock::time_point deadline);

  // The peer closed the connection (the VM exited, or dropped us).
  bool peer_closed() const noexcept { return peer_closed_; }

 private:
  QmpClient(int fd, std::string path) noexcept;
  // The next complete JSON object from the peer.
  Json read_message(SteadyClock::time_point deadline, std::string_view waiting_for);
  void send_all(std::string_view text, SteadyClock::time_point deadline);
  [[noreturn]] void fail(std::string_view why, bool timed_out = false) const;

  int fd_;
  std::string path_;
  qmp::JsonFramer framer_;
  uint64_t next_id_ = 1;
  bool peer_closed_ = false;
};

// Replies and events can be large (query-commands, statistics); the framer's
// server-side 64 KiB cap would be too small for a client, 16 MiB bounds memory.
inline constexpr size_t kMaxReplyBytes = 16 * 1024 * 1024;

}  // namespace keel::ctl
