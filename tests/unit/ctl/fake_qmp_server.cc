#include "tests/unit/ctl/fake_qmp_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

namespace keel::ctl::testing {

void Peer::send(std::string_view text) {
  while (!text.empty()) {
    const ssize_t sent = ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
    if (sent <= 0) return;  // the client went away: its test says what it expected
    text.remove_prefix(static_cast<size_t>(sent));
  }
}

Json Peer::read_request() {
  for (;;) {
    if (std::optional<qmp::Frame> frame = framer_.next()) {
      Json request = Json::parse(frame->text, nullptr, false);
      requests_.push_back(request);
      return request;
    }
    pollfd ready{fd_, POLLIN, 0};
    if (poll(&ready, 1, 5000) <= 0) return Json();
    char chunk[4096];
    const ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return Json();
    framer_.feed(std::string_view(chunk, static_cast<size_t>(got)));
  }
}

void Peer::greet_and_negotiate() {
  send(kGreeting);
  answer_next(Json::object());
}

Json Peer::answer_next(const Json& value) {
  const Json request = read_request();
  if (request.is_object()) send(Json{{"return", value}, {"id", request.value("id", Json())}}.dump() + "\r\n");
  return request;
}

void Peer::wait_for_close() {
  while (!read_request().is_null()) {
  }
}

namespace {
std::atomic<int> socket_counter{0};
}

FakeQmpServer::FakeQmpServer(std::function<void(Peer&)> script)
    : path_((std::filesystem::temp_directory_path() /
             ("keel-ctl-test-" + std::to_string(getpid()) + "-" + std::to_string(socket_counter++) + ".sock"))
                .string()) {
  std::filesystem::remove(path_);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
  EXPECT_EQ(bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
  EXPECT_EQ(listen(listen_fd_, 4), 0);
  thread_ = std::thread([this, script = std::move(script)] {
    pollfd ready{listen_fd_, POLLIN, 0};
    if (poll(&ready, 1, 10000) <= 0) return;  // the client never came (a usage-error test)
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    Peer peer(fd);
    script(peer);
    requests_ = peer.requests();
    close(fd);
  });
}

const std::vector<Json>& FakeQmpServer::requests() {
  if (!joined_) {
    thread_.join();
    joined_ = true;
  }
  return requests_;
}

FakeQmpServer::~FakeQmpServer() {
  if (!joined_) {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
  }
  close(listen_fd_);
  std::filesystem::remove(path_);
}

}  // namespace keel::ctl::testing
