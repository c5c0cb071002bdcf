// A VirtioDevice for transport tests: records what the transport asks of
// it, keeps a small config structure, and can refuse features/activation.
#pragma once

#include <array>
#include <cstring>
#include <vector>

#include "virtio/core/virtio_device.h"
#include "virtio/core/virtio_spec.h"

namespace keel::testing {

class FakeVirtioDevice final : public virtio::VirtioDevice {
 public:
  static constexpr uint64_t kFeatureA = 1ull << 1;  // device-specific bits offered
  static constexpr uint64_t kFeatureB = 1ull << 40;

  uint16_t type = virtio::kDeviceTypeBlock;
  uint64_t features = kFeatureA | kFeatureB;
  uint16_t queues = 2;
  uint16_t max_size = 256;
  bool accept = true;
  bool activate_ok = true;

  int activations = 0;
  int resets = 0;
  std::vector<uint16_t> notified;
  int bad_notifications = 0;  // notifications without an active, live queue
  std::vector<uint64_t> accept_calls;
  virtio::VirtioContext* context = nullptr;
  std::array<uint8_t, 8> config{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

  uint16_t device_type() const noexcept override { return type; }
  uint64_t device_features() const noexcept override { return features; }
  uint16_t queue_count() const noexcept override { return queues; }
  uint16_t queue_max_size() const noexcept override { return max_size; }
  void config_read(uint32_t offset, std::span<std::byte> data) noexcept override {
    for (size_t i = 0; i < data.size(); ++i) {
      data[i] = offset + i < config.size() ? std::byte{config[offset + i]} : std::byte{0};
    }
  }
  void config_write(uint32_t offset, std::span<const std::byte> data) noexcept override {
    for (size_t i = 0; i < data.size(); ++i) {
      if (offset + i < config.size()) config[offset + i] = std::to_integer<uint8_t>(data[i]);
    }
  }
  bool accept_features(uint64_t offered) noexcept override {
    accept_calls.push_back(offered);
    return accept;
  }
  bool activate(virtio::VirtioContext& ctx) noexcept override {
    ++activations;
    if (!activate_ok) return false;
    context = &ctx;
    return true;
  }
  // Called with the context lock held: the queue must be live.
  void queue_notified(uint16_t queue) noexcept override {
    notified.push_back(queue);
    if (context == nullptr || context->queue(queue) == nullptr) ++bad_notifications;
  }
  // With `hold_reset`, reset() reports I/O still in flight (returns false)
  // until the test calls finish_reset() (as the event loop would) or the
  // transport's teardown calls wait_for_reset().
  bool reset() noexcept override {
    ++resets;
    if (hold_reset) {
      reset_held = true;
      return false;
    }
    context = nullptr;
    return true;
  }
  void wait_for_reset() noexcept override {
    ++waits_for_reset;
    finish_reset();
  }
  void finish_reset() {
    if (!reset_held) return;
    reset_held = false;
    virtio::VirtioContext* ctx = context;
    context = nullptr;
    if (ctx != nullptr) ctx->reset_finished();
  }
  bool hold_reset = false;
  bool reset_held = false;
  int waits_for_reset = 0;
};

}  // namespace keel::testing
