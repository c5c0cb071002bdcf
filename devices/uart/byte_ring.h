// A fixed-capacity FIFO of bytes with no allocation after construction, for
// the UART's RX FIFO and its host-side input buffer (paths that must not
// throw). Internal to devices/uart.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace keel::devices::uart_detail {

template <size_t Capacity>
class ByteRing {
 public:
  static_assert(Capacity > 0);

  [[nodiscard]] size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] bool full() const noexcept { return count_ == Capacity; }
  static constexpr size_t capacity() noexcept { return Capacity; }

  // Returns false (and stores nothing) when full.
  bool push(uint8_t value) noexcept {
    if (full()) return false;
    bytes_[(head_ + count_) % Capacity] = value;
    ++count_;
    return true;
  }
  // Callers check empty() first; an empty ring yields 0.
  uint8_t pop() noexcept {
    if (empty()) return 0;
    const uint8_t value = bytes_[head_];
    head_ = (head_ + 1) % Capacity;
    --count_;
    return value;
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

}  // namespace keel::devices::uart_detail
