// The 8042's fixed scancode translation: what the controller does to bytes
// from the keyboard when command-byte bit 6 is set, so that software written
// for the XT (scancode set 1) works with an AT keyboard sending set 2.
// The keyboard itself uses the same mapping when a guest selects set 1.
#pragma once

#include <cstdint>
#include <optional>

namespace keel::devices::i8042_detail {

// One byte through the translation table. Codes 0x00-0x84 map to their set 1
// equivalents (0x00, the set 2 overrun code, becomes 0xFF, set 1's); bytes
// above 0x84 (prefixes and replies such as 0xE0, 0xFA, 0xAA) pass unchanged.
[[nodiscard]] uint8_t translate_set2_byte(uint8_t byte) noexcept;

// The stateful part: set 2 marks a break with a 0xF0 prefix, set 1 with
// bit 7 of the code. A 0xF0 is swallowed and sets bit 7 of the next byte.
class Set2ToSet1Translator {
 public:
  // Returns the byte to pass on, or nothing when the input was a 0xF0 prefix.
  std::optional<uint8_t> feed(uint8_t byte) noexcept {
    if (byte == 0xF0) {
      break_pending_ = true;
      return std::nullopt;
    }
    uint8_t out = translate_set2_byte(byte);
    if (break_pending_) out |= 0x80;
    break_pending_ = false;
    return out;
  }
  void reset() noexcept { break_pending_ = false; }

 private:
  bool break_pending_ = false;
};

}  // namespace keel::devices::i8042_detail
