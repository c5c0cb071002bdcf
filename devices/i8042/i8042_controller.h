// The 8042 keyboard controller itself: status and command registers, the
// one-byte output buffer shared by keyboard and mouse, the command byte,
// scancode translation, the output port (reset line, A20) and the two IRQ
// lines. Owns the PS/2 keyboard and mouse behind it. Not thread-safe: the
// I8042 wrapper (i8042.cc) holds a lock around every call.
// Internal to devices/i8042.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "keel/log_rate_limiter.h"
#include "devices/i8042/ps2_keyboard.h"
#include "devices/i8042/ps2_mouse.h"
#include "devices/i8042/scancodes.h"
#include "devices/i8042/set1_translation.h"
#include "keel/irq_line.h"

namespace keel::devices::i8042_detail {

// Status register (port 0x64 read).
inline constexpr uint8_t kStatusOutputFull = 0x01;
inline constexpr uint8_t kStatusInputFull = 0x02;
inline constexpr uint8_t kStatusSystemFlag = 0x04;
inline constexpr uint8_t kStatusLastWasCommand = 0x08;
inline constexpr uint8_t kStatusKeyboardUnlocked = 0x10;
inline constexpr uint8_t kStatusAuxOutput = 0x20;

// Command byte (controller RAM byte 0).
inline constexpr uint8_t kCommandKeyboardIrq = 0x01;
inline constexpr uint8_t kCommandMouseIrq = 0x02;
inline constexpr uint8_t kCommandSystemFlag = 0x04;
inline constexpr uint8_t kCommandKeyboardDisabled = 0x10;
inline constexpr uint8_t kCommandMouseDisabled = 0x20;
inline constexpr uint8_t kCommandTranslate = 0x40;

// keel has no firmware, so the controller starts the way a PC BIOS leaves
// it after POST (SeaBIOS writes 0x61 and its self-test sets the system
// flag): keyboard interrupt on, mouse port off until a driver enables it,
// set 2 -> set 1 translation on, system flag set.
inline constexpr uint8_t kInitialCommandByte =
    kCommandKeyboardIrq | kCommandSystemFlag | kCommandMouseDisabled | kCommandTranslate;

class I8042Controller {
 public:
  I8042Controller(IrqLine& keyboard_irq, IrqLine& mouse_irq) noexcept;

  [[nodiscard]] uint8_t read_status() const noexcept;
  uint8_t read_data() noexcept;
  void write_command(uint8_t command) noexcept;
  void write_data(uint8_t byte) noexcept;

  // From the host side (injection). Return false when the input was dropped.
  bool key_event(Set2Key key, bool pressed) noexcept;
  void mouse_motion(int dx, int dy, uint8_t buttons) noexcept;

  [[nodiscard]] uint8_t command_byte() const noexcept { return ram_[0]; }

  // True once after the guest pulsed or wrote the CPU reset line low. The
  // caller asks the machine to stop after releasing the device lock, so no
  // lock is held across a call out of the device.
  [[nodiscard]] bool take_reset_request() noexcept {
    const bool requested = reset_requested_;
    reset_requested_ = false;
    return requested;
  }

 private:
  // Where the next byte written to port 0x60 goes.
  enum class DataTarget : uint8_t {
    keyboard,
    controller_ram,
    output_port,
    keyboard_output_buffer,
    mouse_output_buffer,
    mouse,
  };

  void run_command(uint8_t command) noexcept;
  void write_output_port(uint8_t value) noexcept;
  void pulse_output_lines(uint8_t command) noexcept;
  void queue_controller_byte(uint8_t byte, bool as_mouse) noexcept;
  void write_ram(uint8_t index, uint8_t value) noexcept;
  // Fills an empty output buffer: controller reply first, then keyboard
  // (through translation), then mouse. Disabled ports keep their data.
  void fill_output_buffer() noexcept;
  std::optional<uint8_t> next_keyboard_byte() noexcept;
  void update_irq_lines() noexcept;
  [[nodiscard]] uint8_t output_port_value() const noexcept;
  void request_reset() noexcept;

  IrqLine& keyboard_irq_;
  IrqLine& mouse_irq_;
  Ps2Keyboard keyboard_;
  Ps2Mouse mouse_;
  Set2ToSet1Translator translator_;

  // 32 bytes of controller RAM, read and written by commands 0x20-0x3F and
  // 0x60-0x7F; byte 0 is the command byte.
  std::array<uint8_t, 32> ram_{};
  bool system_flag_ = true;
  bool last_write_was_command_ = true;
  uint8_t output_port_;
  DataTarget data_target_ = DataTarget::keyboard;
  uint8_t ram_write_index_ = 0;

  // The output buffer: one byte visible to the guest.
  bool output_full_ = false;
  bool output_from_mouse_ = false;
  uint8_t output_byte_ = 0;

  // A reply of the controller itself, waiting for the output buffer.
  bool controller_byte_pending_ = false;
  bool controller_byte_as_mouse_ = false;
  uint8_t controller_byte_ = 0;

  bool reset_requested_ = false;
  bool keyboard_irq_level_ = false;
  bool mouse_irq_level_ = false;
  LogRateLimiter log_limit_{10};
};

}  // namespace keel::devices::i8042_detail
