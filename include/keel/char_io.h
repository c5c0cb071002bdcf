// Byte streams between a guest-visible character device (UART) and a host
// console backend.
#pragma once

#include <cstddef>
#include <span>

namespace keel {

// Where a character device sends what the guest writes. write() must not
// block for long: backends buffer or drop (and say so in their docs).
class CharSink {
 public:
  virtual ~CharSink() = default;
  virtual void write(std::span<const std::byte> bytes) noexcept = 0;
};

// Where a console backend delivers host input.
class CharReceiver {
 public:
  virtual ~CharReceiver() = default;
  virtual void receive(std::span<const std::byte> bytes) noexcept = 0;
};

}  // namespace keel
