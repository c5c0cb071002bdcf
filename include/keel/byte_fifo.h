// A fixed-capacity FIFO of bytes that never allocates after construction, for
// device queues on guest-driven paths (UART FIFOs, PS/2 output buffers), which
// must not throw.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace keel {

template <size_t Capacity>
class ByteFifo {
 public:
  static_assert(Capacity > 0);
  static constexpr size_t capacity() noexcept { return Capacity; }

  [[nodiscard]] size_t size() const noexcept { return count_; }
  [[nodiscard]] size_t free() const noexcept { return Capacity - count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] bool full() const noexcept { return count_ == Capacity; }

  // Stores nothing and returns false when full.
  bool push(uint8_t value) noexcept {
    if (count_ == Capacity) return false;
    bytes_[(head_ + count_) % Capacity] = value;
    ++count_;
    return true;
  }
  std::optional<uint8_t> pop() noexcept {
    if (count_ == 0) return std::nullopt;
    const uint8_t value = bytes_[head_];
    head_ = (head_ + 1) % Capacity;
    --count_;
    return value;
  }
  // The most recently pushed byte, if any.
  std::optional<uint8_t> back() const noexcept {
    if (count_ == 0) return std::nullopt;
    return bytes_[(head_ + count_ - 1) % Capacity];
  }
  void clear() noexcept {
    head_ = 0;
    count_ = 0;
  }

 private:
  std::array<uint8_t, Capacity> bytes_{};
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace keel
