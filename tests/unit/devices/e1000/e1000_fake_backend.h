// The e1000 tests' fake network backend, without gtest so the fuzz target
// (tests/fuzz/e1000.cc) can use it too: records what the device sends,
// serves queued frames, and can be told to say would_block.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include "keel/net_backend.h"

namespace keel::devices::e1000::test {

using Bytes = std::vector<uint8_t>;

class FakeBackend final : public net::NetBackend {
 public:
  net::BackendCapabilities capabilities() const noexcept override { return {}; }
  void attach(net::NetBackendListener& listener) noexcept override { listener_ = &listener; }
  void set_receive_interest(bool interested) noexcept override {
    interest = interested;
    ++interest_changes;
  }
  Result<net::SendStatus> send(std::span<const iovec> frame) noexcept override {
    if (on_send) on_send();
    if (would_block) return net::SendStatus::would_block;
    Bytes bytes;
    for (const auto& part : frame) {
      auto* base = static_cast<const uint8_t*>(part.iov_base);
      bytes.insert(bytes.end(), base, base + part.iov_len);
    }
    if (bytes.size() < net::kVnetHeaderSize) return fail(Errc::invalid_argument, "short");
    headers.emplace_back(bytes.begin(), bytes.begin() + net::kVnetHeaderSize);
    sent.emplace_back(bytes.begin() + net::kVnetHeaderSize, bytes.end());
    return net::SendStatus::sent;
  }
  Result<size_t> receive(std::span<const iovec> buffer) noexcept override {
    ++receive_calls;
    if (incoming.empty()) return size_t{0};
    Bytes frame = std::move(incoming.front());
    incoming.pop_front();
    size_t capacity = 0;
    for (const auto& part : buffer) capacity += part.iov_len;
    if (frame.size() > capacity) return fail(Errc::out_of_bounds, "too long");
    size_t offset = 0;
    for (const auto& part : buffer) {
      const size_t n = std::min(part.iov_len, frame.size() - offset);
      std::memcpy(part.iov_base, frame.data() + offset, n);
      offset += n;
    }
    return frame.size();
  }
  void set_guest_offloads(const net::Offloads& offloads) noexcept override {
    guest_offloads = offloads;
    offloads_set = true;
  }

  // Queues an Ethernet frame behind a VnetHeader (all zero unless given).
  void queue(const Bytes& frame, net::VnetHeader header = {}) {
    Bytes bytes(net::kVnetHeaderSize);
    std::memcpy(bytes.data(), &header, sizeof(header));
    bytes.insert(bytes.end(), frame.begin(), frame.end());
    incoming.push_back(std::move(bytes));
  }
  // What the event loop does: call the listener while interested and
  // frames wait (level-triggered), at most `rounds` times.
  void pump(int rounds = 8) {
    for (int i = 0; i < rounds && interest && !incoming.empty(); ++i) listener_->frames_waiting();
  }
  net::NetBackendListener* listener() { return listener_; }

  // Runs inside send(): a backend (such as user-mode networking) may
  // answer a frame synchronously and call the listener from there.
  std::function<void()> on_send;
  bool interest = true;
  int interest_changes = 0;
  bool would_block = false;
  bool offloads_set = false;
  net::Offloads guest_offloads{.csum = true};
  int receive_calls = 0;
  std::vector<Bytes> sent;
  std::vector<Bytes> headers;
  std::deque<Bytes> incoming;

 private:
  net::NetBackendListener* listener_ = nullptr;
};

}  // namespace keel::devices::e1000::test
