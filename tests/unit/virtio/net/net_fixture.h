// The virtio-net test bench: guarded guest RAM with a fake driver per queue
// (rx, tx, control; real split rings through the core FakeDriver), a
// VirtioContext whose queues are real Virtqueues and whose signal_used()
// honours suppression like the PCI transport, and a VirtioNet over a
// FakeNetBackend.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "tests/unit/virtio/core/fake_driver.h"
#include "tests/unit/virtio/net/fake_net_backend.h"
#include "virtio/core/virtio_spec.h"
#include "virtio/net/net_spec.h"
#include "virtio/net/virtio_net.h"

namespace keel::virtio::net::testing {

using keel::net::kVnetHeaderSize;
using keel::net::VnetHeader;
using virtio::testing::FakeDriver;
using virtio::testing::GuardedGuestMemory;
using virtio::testing::Segment;

class NetContext final : public VirtioContext {
 public:
  explicit NetContext(const GuestMemory& memory) : memory_(memory) {}
  std::mutex& lock() noexcept override { return lock_; }
  const GuestMemory& memory() const noexcept override { return memory_; }
  uint64_t negotiated_features() const noexcept override { return features; }
  Virtqueue* queue(uint16_t index) noexcept override {
    return index < queues.size() && queues[index] ? &*queues[index] : nullptr;
  }
  void signal_used(uint16_t index) noexcept override {
    ++signals[index];
    if (Virtqueue* live = queue(index); live != nullptr && live->needs_interrupt()) ++interrupts[index];
  }
  void needs_reset(const char* why) noexcept override { resets.push_back(why); }
  void config_changed() noexcept override { ++config_changes; }
  void reschedule(uint16_t index) noexcept override { ++reschedules[index]; }

  uint64_t features = 0;
  std::array<std::optional<Virtqueue>, kQueueCount> queues;
  std::array<int, kQueueCount> signals{};
  std::array<int, kQueueCount> interrupts{};
  std::array<int, kQueueCount> reschedules{};
  std::vector<const char*> resets;
  int config_changes = 0;

 private:
  std::mutex lock_;
  const GuestMemory& memory_;
};

inline constexpr std::array<uint8_t, 6> kOwnMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
inline constexpr std::array<uint8_t, 6> kBroadcast{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
inline constexpr uint64_t kBaseFeatures = virtio::feature::kVersion1 | net::feature::kMac | net::feature::kStatus |
                                          net::feature::kCtrlVq | net::feature::kCtrlRx |
                                          net::feature::kCtrlRxExtra | net::feature::kCtrlMacAddr |
                                          net::feature::kCtrlGuestOffloads;

// An Ethernet frame to `destination` of `length` bytes (>= 14) whose
// payload is a pattern derived from `seed`.
inline Frame ethernet_frame(const std::array<uint8_t, 6>& destination, size_t length, uint8_t seed = 1) {
  Frame frame(length);
  std::memcpy(frame.data(), destination.data(), 6);
  const std::array<uint8_t, 6> source{0x02, 0, 0, 0, 0, 0x99};
  std::memcpy(frame.data() + 6, source.data(), 6);
  frame[12] = std::byte{0x08};
  frame[13] = std::byte{0x00};
  for (size_t i = 14; i < length; ++i) frame[i] = std::byte(static_cast<uint8_t>(seed + i * 13));
  return frame;
}

inline Frame with_header(const VnetHeader& header, const Frame& ethernet) {
  // One sized buffer and two copies: GCC 12 at -O3 reports a false
  // overflow in an inlined vector range insert.
  Frame frame(kVnetHeaderSize + ethernet.size());
  std::memcpy(frame.data(), &header, kVnetHeaderSize);
  if (!ethernet.empty()) std::memcpy(frame.data() + kVnetHeaderSize, ethernet.data(), ethernet.size());
  return frame;
}

class NetTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kRamSize = 8 << 20;
  static constexpr uint16_t kQueueSize = 256;

  explicit NetTest(keel::net::BackendCapabilities caps = {}) {
    auto owned = std::make_unique<FakeNetBackend>(caps);
    backend = owned.get();
    net = std::make_unique<VirtioNet>(std::move(owned), NetOptions{kOwnMac, 1500});
  }

  // Queues created with `features` negotiated, then activate().
  void start(uint64_t features = kBaseFeatures) {
    context.features = features;
    const QueueFeatures queue_features{(features & virtio::feature::kRingEventIdx) != 0,
                                       (features & virtio::feature::kRingIndirectDesc) != 0};
    for (uint16_t q = 0; q < kQueueCount; ++q) {
      auto queue = Virtqueue::create(ram.memory(), drivers[q].config(), queue_features, kQueueSize);
      ASSERT_TRUE(queue.has_value());
      context.queues[q].emplace(std::move(*queue));
    }
    std::lock_guard guard(context.lock());
    ASSERT_TRUE(net->activate(context));
  }
  void notify(uint16_t queue) {
    std::lock_guard guard(context.lock());
    net->queue_notified(queue);
  }
  void device_reset() {
    std::lock_guard guard(context.lock());
    net->reset();
  }

  // Bump allocation of guest RAM for buffers.
  uint64_t alloc(uint64_t length) {
    const uint64_t gpa = heap_;
    heap_ += (length + 63) / 64 * 64;
    EXPECT_LE(heap_, kRamSize);
    return gpa;
  }
  uint64_t put(const Frame& bytes) {
    const uint64_t gpa = alloc(bytes.size());
    std::memcpy(ram.host() + gpa, bytes.data(), bytes.size());
    return gpa;
  }
  Frame peek(uint64_t gpa, size_t length) {
    return Frame(ram.host() + gpa, ram.host() + gpa + length);
  }

  // tx: `bytes` (header + frame) as one chain cut into pieces of `piece`
  // bytes (0: one descriptor). Returns the head.
  uint16_t queue_tx(const Frame& bytes, size_t piece = 0) {
    const uint64_t gpa = put(bytes);
    std::vector<Segment> segments;
    if (piece == 0) piece = bytes.size();
    for (size_t at = 0; at < bytes.size(); at += piece) {
      segments.push_back(Segment{gpa + at, static_cast<uint32_t>(std::min(piece, bytes.size() - at)), false});
    }
    return tx().add_chain(segments);
  }
  // rx: one writable chain of `lengths`; returns the buffers' addresses.
  std::vector<uint64_t> post_rx(const std::vector<uint32_t>& lengths) {
    std::vector<Segment> segments;
    std::vector<uint64_t> addresses;
    for (uint32_t length : lengths) {
      addresses.push_back(alloc(length));
      segments.push_back(Segment{addresses.back(), length, true});
    }
    rx().add_chain(segments);
    return addresses;
  }
  // Control: a command of class/command/data, ack byte in its own
  // descriptor. Returns the ack (0xEE if the device did not write one).
  uint8_t command(uint8_t command_class, uint8_t code, const Frame& data) {
    Frame bytes{std::byte{command_class}, std::byte{code}};
    bytes.insert(bytes.end(), data.begin(), data.end());
    const uint64_t gpa = put(bytes);
    const uint64_t ack = alloc(1);
    ram.host()[ack] = std::byte{0xEE};
    ctrl().add_chain({Segment{gpa, static_cast<uint32_t>(bytes.size()), false}, Segment{ack, 1, true}});
    notify(kCtrlQueue);
    return std::to_integer<uint8_t>(ram.host()[ack]);
  }

  FakeDriver& rx() { return drivers[kRxQueue]; }
  FakeDriver& tx() { return drivers[kTxQueue]; }
  FakeDriver& ctrl() { return drivers[kCtrlQueue]; }

  GuardedGuestMemory ram{kRamSize};
  std::array<FakeDriver, kQueueCount> drivers{FakeDriver(ram, kQueueSize, 0x1000), FakeDriver(ram, kQueueSize, 0x4000),
                                              FakeDriver(ram, kQueueSize, 0x7000)};
  NetContext context{ram.memory()};
  FakeNetBackend* backend = nullptr;
  std::unique_ptr<VirtioNet> net;  // last: destroyed first

 private:
  uint64_t heap_ = FakeDriver::kDataStart;
};

}  // namespace keel::virtio::net::testing
