// The 82540EM's 64-word Microwire EEPROM (manual 5.x, 13.4.3/13.4.4): the
// words Linux's e1000_probe and QEMU's model rely on, with word 0x3F set so
// words 0x00..0x3F sum to 0xBABA. The guest reads it two ways: bit-banging
// EECD (Linux's e1000 does this on the 82540) or through EERD.
// Not thread-safe: the owning device serializes.
#pragma once

#include <array>
#include <cstdint>

namespace keel::devices::e1000 {

class Eeprom {
 public:
  static constexpr uint16_t kWords = 64;
  static constexpr uint16_t kChecksumWord = 0x3F;
  static constexpr uint16_t kChecksumSum = 0xBABA;

  explicit Eeprom(const std::array<uint8_t, 6>& mac) noexcept;

  uint16_t word(uint16_t index) const noexcept { return index < kWords ? words_[index] : 0xFFFF; }
  const std::array<uint16_t, kWords>& words() const noexcept { return words_; }

  // EECD: the value the guest reads, and a guest write (SK/CS/DI/REQ bits).
  uint32_t read_eecd() const noexcept;
  void write_eecd(uint32_t value) noexcept;
  // EERD: a write with START performs the read at once (DONE and DATA set).
  uint32_t read_eerd() const noexcept { return eerd_; }
  void write_eerd(uint32_t value) noexcept;

  void reset() noexcept;  // the Microwire state and EERD, not the contents

 private:
  void clock_rising_edge(bool di) noexcept;

  std::array<uint16_t, kWords> words_{};
  uint32_t eecd_ = 0;  // SK, CS, DI, FWE, REQ as last written
  uint32_t eerd_ = 0;
  // Microwire shift state: bits shifted in since CS rose (after the start
  // bit), the command they form, and the word being shifted out.
  uint32_t in_bits_ = 0;
  uint32_t in_value_ = 0;
  bool reading_ = false;
  uint16_t read_address_ = 0;
  int out_bit_ = 0;  // next data bit of the current word (15..0)
  bool data_out_ = false;
};

}  // namespace keel::devices::e1000
