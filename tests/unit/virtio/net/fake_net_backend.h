// A NetBackend for the virtio-net unit tests: records what the device sends
// (and its offload settings and interest), serves frames the test queues,
// and can be told to return would_block or errors.
#pragma once

#include <cstring>
#include <deque>
#include <vector>

#include "keel/net_backend.h"

namespace keel::virtio::net::testing {

using Frame = std::vector<std::byte>;

class FakeNetBackend final : public keel::net::NetBackend {
 public:
  explicit FakeNetBackend(keel::net::BackendCapabilities caps = {}) : caps_(caps) {}

  keel::net::BackendCapabilities capabilities() const noexcept override { return caps_; }
  void attach(keel::net::NetBackendListener& listener) noexcept override {
    ++attach_calls;
    listener_ = &listener;
  }
  void set_receive_interest(bool interested) noexcept override {
    interest = interested;
    ++interest_calls;
  }
  Result<keel::net::SendStatus> send(std::span<const iovec> frame) noexcept override {
    ++send_calls;
    if (block_sends > 0) {
      --block_sends;
      return keel::net::SendStatus::would_block;
    }
    if (refuse_sends > 0) {
      --refuse_sends;
      return fail(Errc::invalid_argument, "fake backend refuses");
    }
    Frame bytes;
    for (const iovec& piece : frame) {
      const auto* base = static_cast<const std::byte*>(piece.iov_base);
      bytes.insert(bytes.end(), base, base + piece.iov_len);
    }
    sent.push_back(std::move(bytes));
    return keel::net::SendStatus::sent;
  }
  Result<size_t> receive(std::span<const iovec> buffer) noexcept override {
    ++receive_calls;
    if (receive_errors > 0) {
      --receive_errors;
      return fail(Errc::io_error, "fake backend receive error");
    }
    if (inbox.empty()) return size_t{0};
    Frame frame = std::move(inbox.front());
    inbox.pop_front();
    size_t room = 0;
    for (const iovec& piece : buffer) room += piece.iov_len;
    if (frame.size() > room) return fail(Errc::out_of_bounds, "frame longer than the buffer");
    size_t copied = 0;
    for (const iovec& piece : buffer) {
      const size_t chunk = std::min(piece.iov_len, frame.size() - copied);
      std::memcpy(piece.iov_base, frame.data() + copied, chunk);
      copied += chunk;
    }
    return frame.size();
  }
  void set_guest_offloads(const keel::net::Offloads& offloads) noexcept override {
    guest_offloads = offloads;
    ++offload_calls;
  }

  // What an event loop would do for a level-triggered backend: call
  // frames_waiting() while interest is on and frames wait (bounded).
  // Returns the number of callbacks made.
  int pump(int max_calls = 1000) {
    int calls = 0;
    while (interest && !inbox.empty() && calls < max_calls) {
      listener_->frames_waiting();
      ++calls;
    }
    return calls;
  }
  keel::net::NetBackendListener* listener() const { return listener_; }

  keel::net::BackendCapabilities caps_;
  std::vector<Frame> sent;
  std::deque<Frame> inbox;
  bool interest = true;
  int interest_calls = 0;
  int attach_calls = 0;
  int send_calls = 0;
  int receive_calls = 0;
  int block_sends = 0;    // the next N sends say would_block
  int refuse_sends = 0;   // the next N sends fail with invalid_argument
  int receive_errors = 0; // the next N receives fail
  keel::net::Offloads guest_offloads;
  int offload_calls = 0;

 private:
  keel::net::NetBackendListener* listener_ = nullptr;
};

}  // namespace keel::virtio::net::testing
