#include "devices/i8042/i8042_controller.h"

#include <spdlog/spdlog.h>

namespace keel::devices::i8042_detail {
namespace {

// Output port bits. Bits 2-3 are unused and bits 6-7 are the keyboard clock
// and data lines, idle high; they read as 1 (so A20 commands that write
// 0xDD/0xDF look like no change to them).
constexpr uint8_t kOutputPortRunning = 0x01;  // 0 holds the CPU in reset
constexpr uint8_t kOutputPortA20 = 0x02;
constexpr uint8_t kOutputPortKeyboardFull = 0x10;
constexpr uint8_t kOutputPortMouseFull = 0x20;
constexpr uint8_t kOutputPortIdleHigh = 0xCC;

// Input port as read by command 0xC0: bit 7 set = keyboard not inhibited by
// the key lock; the other straps read 0 (as QEMU reports).
constexpr uint8_t kInputPort = 0x80;

enum Command : uint8_t {
  kReadRamFirst = 0x20,   // 0x20: command byte
  kReadRamLast = 0x3F,
  kWriteRamFirst = 0x60,  // 0x60: command byte
  kWriteRamLast = 0x7F,
  kDisableMousePort = 0xA7,
  kEnableMousePort = 0xA8,
  kTestMousePort = 0xA9,
  kSelfTest = 0xAA,
  kTestKeyboardPort = 0xAB,
  kDisableKeyboardPort = 0xAD,
  kEnableKeyboardPort = 0xAE,
  kReadInputPort = 0xC0,
  kReadOutputPort = 0xD0,
  kWriteOutputPort = 0xD1,
  kWriteKeyboardOutput = 0xD2,
  kWriteMouseOutput = 0xD3,
  kWriteToMouse = 0xD4,
  kDisableA20 = 0xDD,
  kEnableA20 = 0xDF,
  kPulseFirst = 0xF0,  // 0xF0-0xFF: pulse output port bits 0-3 whose command bit is 0
};

constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kPortTestPassed = 0x00;

}  // namespace

I8042Controller::I8042Controller(IrqLine& keyboard_irq, IrqLine& mouse_irq) noexcept
    : keyboard_irq_(keyboard_irq),
      mouse_irq_(mouse_irq),
      output_port_(kOutputPortRunning | kOutputPortA20 | kOutputPortIdleHigh) {
  ram_[0] = kInitialCommandByte;
  system_flag_ = (kInitialCommandByte & kCommandSystemFlag) != 0;
}

uint8_t I8042Controller::read_status() const noexcept {
  uint8_t status = kStatusKeyboardUnlocked;  // input buffer never full: writes are handled at once
  if (output_full_) status |= kStatusOutputFull;
  if (output_full_ && output_from_mouse_) status |= kStatusAuxOutput;
  if (system_flag_) status |= kStatusSystemFlag;
  if (last_write_was_command_) status |= kStatusLastWasCommand;
  return status;
}

uint8_t I8042Controller::read_data() noexcept {
  // With the buffer empty the last byte reads again, as on real hardware
  // (some DOS memory managers depend on it).
  const uint8_t value = output_byte_;
  if (output_full_) {
    output_full_ = false;
    update_irq_lines();    // drop the line first so the next byte is a new edge
    fill_output_buffer();
  }
  return value;
}

void I8042Controller::write_command(uint8_t command) noexcept {
  last_write_was_command_ = true;
  // A new command abandons one that was still waiting for its data byte.
  data_target_ = DataTarget::keyboard;
  run_command(command);
  fill_output_buffer();
}

void I8042Controller::run_command(uint8_t command) noexcept {
  if (command >= kReadRamFirst && command <= kReadRamLast) {
    queue_controller_byte(ram_[command & 0x1F], false);
    return;
  }
  if (command >= kWriteRamFirst && command <= kWriteRamLast) {
    data_target_ = DataTarget::controller_ram;
    ram_write_index_ = command & 0x1F;
    return;
  }
  if (command >= kPulseFirst) {
    pulse_output_lines(command);
    return;
  }
  switch (command) {
    case kDisableMousePort: ram_[0] |= kCommandMouseDisabled; break;
    case kEnableMousePort: ram_[0] &= ~kCommandMouseDisabled; break;
    case kDisableKeyboardPort: ram_[0] |= kCommandKeyboardDisabled; break;
    case kEnableKeyboardPort: ram_[0] &= ~kCommandKeyboardDisabled; break;
    case kTestMousePort: queue_controller_byte(kPortTestPassed, false); break;
    case kTestKeyboardPort: queue_controller_byte(kPortTestPassed, false); break;
    case kSelfTest:
      system_flag_ = true;
      queue_controller_byte(kSelfTestPassed, false);
      break;
    case kReadInputPort: queue_controller_byte(kInputPort, false); break;
    case kReadOutputPort: queue_controller_byte(output_port_value(), false); break;
    case kWriteOutputPort: data_target_ = DataTarget::output_port; break;
    case kWriteKeyboardOutput: data_target_ = DataTarget::keyboard_output_buffer; break;
    case kWriteMouseOutput: data_target_ = DataTarget::mouse_output_buffer; break;
    case kWriteToMouse: data_target_ = DataTarget::mouse; break;
    case kDisableA20: output_port_ &= ~kOutputPortA20; break;
    case kEnableA20: output_port_ |= kOutputPortA20; break;
    default:
      if (log_limit_.admit().log) spdlog::warn("i8042: ignoring unknown controller command {:#04x}", command);
      break;
  }
}

void I8042Controller::write_data(uint8_t byte) noexcept {
  last_write_was_command_ = false;
  const DataTarget target = data_target_;
  data_target_ = DataTarget::keyboard;
  switch (target) {
    case DataTarget::keyboard:
      // Sending to the keyboard releases its clock line, which re-enables
      // the port (QEMU does the same).
      ram_[0] &= ~kCommandKeyboardDisabled;
      keyboard_.receive(byte);
      break;
    case DataTarget::mouse:
      ram_[0] &= ~kCommandMouseDisabled;
      mouse_.receive(byte);
      break;
    case DataTarget::controller_ram: write_ram(ram_write_index_, byte); break;
    case DataTarget::output_port: write_output_port(byte); break;
    case DataTarget::keyboard_output_buffer: queue_controller_byte(byte, false); break;
    case DataTarget::mouse_output_buffer: queue_controller_byte(byte, true); break;
  }
  fill_output_buffer();
}

void I8042Controller::write_ram(uint8_t index, uint8_t value) noexcept {
  if (index >= ram_.size()) return;
  if (index == 0) {
    // Status bit 2 follows the command byte's system flag.
    system_flag_ = (value & kCommandSystemFlag) != 0;
    // A half-translated break (0xF0 swallowed) must not leak into the
    // untranslated stream, or the other way round.
    if ((value ^ ram_[0]) & kCommandTranslate) translator_.reset();
  }
  ram_[index] = value;
}

void I8042Controller::write_output_port(uint8_t value) noexcept {
  // Bits 4-5 mirror the output buffer and are not stored.
  output_port_ = value & ~(kOutputPortKeyboardFull | kOutputPortMouseFull);
  if (!(value & kOutputPortRunning)) request_reset();
}

void I8042Controller::pulse_output_lines(uint8_t command) noexcept {
  // Bits 0-3 of the command select output port bits 0-3 to pulse low for
  // ~6 us (0 = pulse). Only bit 0, the CPU reset line, has a lasting effect.
  if (!(command & kOutputPortRunning)) request_reset();
}

void I8042Controller::request_reset() noexcept { reset_requested_ = true; }

uint8_t I8042Controller::output_port_value() const noexcept {
  uint8_t value = output_port_;
  if (output_full_) value |= output_from_mouse_ ? kOutputPortMouseFull : kOutputPortKeyboardFull;
  return value;
}

void I8042Controller::queue_controller_byte(uint8_t byte, bool as_mouse) noexcept {
  // The controller holds one reply; a newer one replaces it.
  controller_byte_pending_ = true;
  controller_byte_as_mouse_ = as_mouse;
  controller_byte_ = byte;
}

std::optional<uint8_t> I8042Controller::next_keyboard_byte() noexcept {
  while (auto byte = keyboard_.transmit()) {
    if (!(ram_[0] & kCommandTranslate)) return byte;
    if (auto translated = translator_.feed(*byte)) return translated;
  }
  return std::nullopt;
}

void I8042Controller::fill_output_buffer() noexcept {
  if (!output_full_) {
    std::optional<uint8_t> byte;
    bool from_mouse = false;
    if (controller_byte_pending_) {
      controller_byte_pending_ = false;
      byte = controller_byte_;
      from_mouse = controller_byte_as_mouse_;
    }
    // The keyboard goes before the mouse, and a disabled port keeps its data
    // (its device holds it, as the clock line is inhibited).
    if (!byte && !(ram_[0] & kCommandKeyboardDisabled)) byte = next_keyboard_byte();
    if (!byte && !(ram_[0] & kCommandMouseDisabled)) {
      byte = mouse_.transmit();
      from_mouse = byte.has_value();
    }
    if (byte) {
      output_full_ = true;
      output_from_mouse_ = from_mouse;
      output_byte_ = *byte;
    }
  }
  update_irq_lines();
}

void I8042Controller::update_irq_lines() noexcept {
  // The IRQ outputs are "output buffer full" gated by the command byte's
  // interrupt enables, so the lines are levels (QEMU models them the same).
  const bool keyboard_level = output_full_ && !output_from_mouse_ && (ram_[0] & kCommandKeyboardIrq);
  const bool mouse_level = output_full_ && output_from_mouse_ && (ram_[0] & kCommandMouseIrq);
  if (keyboard_level != keyboard_irq_level_) {
    keyboard_irq_level_ = keyboard_level;
    keyboard_irq_.set_level(keyboard_level);
  }
  if (mouse_level != mouse_irq_level_) {
    mouse_irq_level_ = mouse_level;
    mouse_irq_.set_level(mouse_level);
  }
}

bool I8042Controller::key_event(Set2Key key, bool pressed) noexcept {
  const bool queued = keyboard_.key_event(key, pressed);
  fill_output_buffer();
  return queued;
}

void I8042Controller::mouse_motion(int dx, int dy, uint8_t buttons) noexcept {
  mouse_.motion(dx, dy, buttons);
  fill_output_buffer();
}

}  // namespace keel::devices::i8042_detail
