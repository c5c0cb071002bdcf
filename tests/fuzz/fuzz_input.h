// Reading a fuzzer's byte string as a sequence of typed choices. Past the
// end every read yields zero, so any input, even an empty one, is a valid
// run: the harness never has to reject an input for being short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace keel::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}
  explicit FuzzInput(std::span<const uint8_t> bytes) noexcept : FuzzInput(bytes.data(), bytes.size()) {}

  template <class T>
  T take() noexcept {
    T value{};
    const size_t n = sizeof(T) < remaining() ? sizeof(T) : remaining();
    if (n > 0) std::memcpy(&value, data_ + position_, n);
    position_ += n;
    return value;
  }
  uint8_t u8() noexcept { return take<uint8_t>(); }
  uint16_t u16() noexcept { return take<uint16_t>(); }
  uint32_t u32() noexcept { return take<uint32_t>(); }
  uint64_t u64() noexcept { return take<uint64_t>(); }
  bool flag() noexcept { return (u8() & 1) != 0; }
  // A value in [low, high] (inclusive); low when the input has run out.
  uint64_t range(uint64_t low, uint64_t high) noexcept {
    const uint64_t span = high - low;
    if (span == UINT64_MAX) return u64();
    return low + u64_for(span) % (span + 1);
  }
  // The next `count` bytes (fewer at the end of the input).
  std::span<const uint8_t> bytes(size_t count) noexcept {
    const size_t n = count < remaining() ? count : remaining();
    std::span<const uint8_t> out(data_ + position_, n);
    position_ += n;
    return out;
  }
  std::span<const uint8_t> rest() noexcept { return bytes(remaining()); }
  size_t remaining() const noexcept { return size_ - position_; }
  bool empty() const noexcept { return remaining() == 0; }

 private:
  // Only as many bytes as the span needs, so small choices cost one byte
  // and the fuzzer's mutations stay local.
  uint64_t u64_for(uint64_t span) noexcept {
    if (span <= UINT8_MAX) return u8();
    if (span <= UINT16_MAX) return u16();
    if (span <= UINT32_MAX) return u32();
    return u64();
  }

  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

}  // namespace keel::fuzz
