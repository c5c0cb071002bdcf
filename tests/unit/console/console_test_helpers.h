// Helpers for the console backend tests.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/eventually.h"
#include "keel/char_io.h"

namespace keel::console::test {

using namespace std::chrono_literals;

class RecordingReceiver final : public CharReceiver {
 public:
  void receive(std::span<const std::byte> bytes) noexcept override {
    std::lock_guard guard(lock_);
    for (std::byte b : bytes) text_.push_back(static_cast<char>(b));
  }
  std::string text() const {
    std::lock_guard guard(lock_);
    return text_;
  }

 private:
  mutable std::mutex lock_;
  std::string text_;
};

inline std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

using keel::testing::eventually;

// Reads from `fd` until `expected_size` bytes arrived, EOF, or 5 s passed.
inline std::string read_some(int fd, size_t expected_size, int timeout_ms = 5000) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < expected_size && std::chrono::steady_clock::now() < end) {
    pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, 50) <= 0) continue;
    char buffer[4096];
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    out.append(buffer, static_cast<size_t>(got));
  }
  return out;
}

}  // namespace keel::console::test
