// A PS/2 (MF2) keyboard as the 8042 sees it: bytes in from the host
// (commands and their parameters), bytes out (replies, then scancodes).
// Not thread-safe: the controller's lock covers it. Internal to devices/i8042.
#pragma once

#include <cstdint>
#include <optional>

#include "keel/byte_fifo.h"
#include "devices/i8042/scancodes.h"

namespace keel::devices::i8042_detail {

class Ps2Keyboard {
 public:
  // A real keyboard buffers 16 bytes of scancodes while the host is not
  // reading; more is an overrun.
  static constexpr size_t kScancodeBufferBytes = 16;

  Ps2Keyboard() noexcept { power_on(); }

  // A byte the host sent to the keyboard (a command or a command's parameter).
  void receive(uint8_t byte) noexcept;

  // A key went down or up. Returns false when the event was not queued:
  // scanning is disabled, or the buffer is full (an overrun code is queued
  // in its place, once).
  bool key_event(Set2Key key, bool pressed) noexcept;

  [[nodiscard]] bool has_output() const noexcept { return !replies_.empty() || !scancodes_.empty(); }
  // The next byte toward the controller: command replies go ahead of
  // buffered scancodes, as a keyboard answers a command before it resumes
  // sending keys.
  std::optional<uint8_t> transmit() noexcept;

  [[nodiscard]] bool scanning_enabled() const noexcept { return scanning_; }
  [[nodiscard]] uint8_t scancode_set() const noexcept { return scancode_set_; }
  [[nodiscard]] uint8_t leds() const noexcept { return leds_; }
  [[nodiscard]] uint8_t typematic() const noexcept { return typematic_; }

 private:
  // A command that takes one parameter byte, waiting for it.
  enum class AwaitedParameter : uint8_t { none, leds, typematic, scancode_set };

  void power_on() noexcept;
  void run_command(uint8_t command) noexcept;
  void take_parameter(uint8_t parameter) noexcept;
  void reply(uint8_t byte) noexcept;
  void restore_defaults() noexcept;
  bool queue_scancodes(const ScancodeSequence& sequence) noexcept;
  [[nodiscard]] uint8_t overrun_code() const noexcept { return scancode_set_ == 1 ? 0xFF : 0x00; }

  keel::ByteFifo<8> replies_;
  keel::ByteFifo<kScancodeBufferBytes> scancodes_;
  AwaitedParameter awaited_ = AwaitedParameter::none;
  bool scanning_ = true;
  bool overrun_queued_ = false;
  uint8_t scancode_set_ = 2;
  uint8_t leds_ = 0;
  uint8_t typematic_ = 0;
  uint8_t last_transmitted_ = 0;
};

}  // namespace keel::devices::i8042_detail
