#include "devices/i8042/ps2_keyboard.h"

#include "devices/i8042/set1_translation.h"

namespace keel::devices::i8042_detail {
namespace {

constexpr uint8_t kAck = 0xFA;
constexpr uint8_t kResend = 0xFE;
constexpr uint8_t kSelfTestPassed = 0xAA;
constexpr uint8_t kEcho = 0xEE;
// Typematic default: 10.9 characters/s after 500 ms.
constexpr uint8_t kDefaultTypematic = 0x2B;
// Command codes start here; a byte this high can never be a parameter, so a
// keyboard waiting for a parameter treats it as a new command.
constexpr uint8_t kFirstCommand = 0xED;

enum Command : uint8_t {
  kSetLeds = 0xED,
  kEchoCommand = 0xEE,
  kScancodeSet = 0xF0,
  kIdentify = 0xF2,
  kSetTypematic = 0xF3,
  kEnable = 0xF4,
  kDefaultDisable = 0xF5,
  kSetDefault = 0xF6,
  kResendCommand = 0xFE,
  kReset = 0xFF,
};

}  // namespace

void Ps2Keyboard::power_on() noexcept {
  replies_.clear();
  scancodes_.clear();
  awaited_ = AwaitedParameter::none;
  overrun_queued_ = false;
  scancode_set_ = 2;
  leds_ = 0;
  scanning_ = true;
  restore_defaults();
}

void Ps2Keyboard::restore_defaults() noexcept { typematic_ = kDefaultTypematic; }

void Ps2Keyboard::reply(uint8_t byte) noexcept {
  // A guest that sends commands without ever reading the answers loses the
  // oldest ones' successors; nothing grows.
  (void)replies_.push(byte);
}

void Ps2Keyboard::receive(uint8_t byte) noexcept {
  if (awaited_ != AwaitedParameter::none && byte < kFirstCommand) {
    take_parameter(byte);
    return;
  }
  awaited_ = AwaitedParameter::none;
  run_command(byte);
}

void Ps2Keyboard::run_command(uint8_t command) noexcept {
  switch (command) {
    case kSetLeds:
      reply(kAck);
      awaited_ = AwaitedParameter::leds;
      break;
    case kEchoCommand:
      reply(kEcho);
      break;
    case kScancodeSet:
      reply(kAck);
      awaited_ = AwaitedParameter::scancode_set;
      break;
    case kIdentify:
      // An MF2 keyboard. Through a translating controller the 0x83 arrives
      // as 0x41, which is how guests recognise translation.
      reply(kAck);
      reply(0xAB);
      reply(0x83);
      break;
    case kSetTypematic:
      reply(kAck);
      awaited_ = AwaitedParameter::typematic;
      break;
    case kEnable:
      scancodes_.clear();
      overrun_queued_ = false;
      scanning_ = true;
      reply(kAck);
      break;
    case kDefaultDisable:
    case kSetDefault:
      restore_defaults();
      scancodes_.clear();
      overrun_queued_ = false;
      scanning_ = command == kSetDefault;
      reply(kAck);
      break;
    case kResendCommand:
      reply(last_transmitted_);
      break;
    case kReset:
      power_on();
      reply(kAck);
      reply(kSelfTestPassed);
      break;
    default:
      // Includes F7-FD, the scancode set 3 key-type commands: set 3 is not
      // offered, so they are refused like any unknown byte.
      reply(kResend);
      break;
  }
}

void Ps2Keyboard::take_parameter(uint8_t parameter) noexcept {
  const AwaitedParameter awaited = awaited_;
  awaited_ = AwaitedParameter::none;
  switch (awaited) {
    case AwaitedParameter::leds:
      leds_ = parameter & 0x07;  // scroll, num, caps lock; other bits reserved
      reply(kAck);
      break;
    case AwaitedParameter::typematic:
      if (parameter & 0x80) {
        reply(kResend);
        break;
      }
      typematic_ = parameter;
      reply(kAck);
      break;
    case AwaitedParameter::scancode_set:
      if (parameter == 0) {
        reply(kAck);
        reply(scancode_set_);
      } else if (parameter == 1 || parameter == 2) {
        scancode_set_ = parameter;
        scancodes_.clear();  // codes already buffered are in the old set
        overrun_queued_ = false;
        reply(kAck);
      } else {
        reply(kResend);  // set 3 and anything else: not supported
      }
      break;
    case AwaitedParameter::none:
      break;
  }
}

bool Ps2Keyboard::key_event(Set2Key key, bool pressed) noexcept {
  if (!scanning_) return false;
  ScancodeSequence sequence = set2_sequence(key, pressed);
  if (sequence.length == 0) return true;  // Pause has no break code
  if (scancode_set_ == 1) {
    // The keyboard itself speaks set 1: same mapping as the controller's.
    ScancodeSequence set1;
    Set2ToSet1Translator translator;
    for (uint8_t i = 0; i < sequence.length; ++i) {
      if (auto byte = translator.feed(sequence.bytes[i])) set1.bytes[set1.length++] = *byte;
    }
    sequence = set1;
  }
  return queue_scancodes(sequence);
}

bool Ps2Keyboard::queue_scancodes(const ScancodeSequence& sequence) noexcept {
  // One slot stays free for the overrun code, and an event is queued whole
  // or not at all, so a guest never sees half a key.
  if (scancodes_.size() + sequence.length < kScancodeBufferBytes) {
    for (uint8_t i = 0; i < sequence.length; ++i) (void)scancodes_.push(sequence.bytes[i]);
    overrun_queued_ = false;
    return true;
  }
  if (!overrun_queued_) {
    (void)scancodes_.push(overrun_code());
    overrun_queued_ = true;
  }
  return false;
}

std::optional<uint8_t> Ps2Keyboard::transmit() noexcept {
  std::optional<uint8_t> byte = replies_.pop();
  if (!byte) byte = scancodes_.pop();
  if (byte) last_transmitted_ = *byte;
  return byte;
}

}  // namespace keel::devices::i8042_detail
