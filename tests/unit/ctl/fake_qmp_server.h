// A scripted QMP peer for keel ctl's tests: listens on a fresh unix socket,
// accepts one client and runs the test's script on its own thread, so a
// test can send exactly the bytes it wants (split, garbage, nothing).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "src/ctl/qmp_client.h"
#include "src/qmp/json_framer.h"

namespace keel::ctl::testing {

inline constexpr std::string_view kGreeting =
    R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}})"
    "\r\n";

class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}
  void send(std::string_view text);
  // The next request, or null on EOF or after 5 s.
  Json read_request();
  // Greeting, then the qmp_capabilities request and its reply.
  void greet_and_negotiate();
  // Reads one request and answers {"return": value, "id": <its id>}.
  Json answer_next(const Json& value);
  // Keeps the connection open, reading, until the client closes it.
  void wait_for_close();
  const std::vector<Json>& requests() const { return requests_; }

 private:
  int fd_;
  qmp::JsonFramer framer_;
  std::vector<Json> requests_;
};

class FakeQmpServer {
 public:
  explicit FakeQmpServer(std::function<void(Peer&)> script);
  ~FakeQmpServer();
  const std::string& path() const { return path_; }
  // The requests the client sent; valid once the script ended (join()).
  const std::vector<Json>& requests();

 private:
  std::string path_;
  int listen_fd_ = -1;
  std::thread thread_;
  std::vector<Json> requests_;
  bool joined_ = false;
};

}  // namespace keel::ctl::testing
