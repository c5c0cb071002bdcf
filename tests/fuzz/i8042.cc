// Fuzz target: the i8042 keyboard controller with its PS/2 keyboard and
// mouse (devices/i8042 I8042) through its public face: the two one-byte
// ports (0x60 data, 0x64 status/command) on fake IRQ lines 1 and 12 and a
// fake VmControl, plus host key and mouse injection. The script mixes raw
// controller commands (any byte), data bytes (to whatever the last command
// aimed them at: keyboard, mouse via 0xD4, command byte, output port,
// output-buffer loopback), structured keyboard/mouse command sequences,
// key presses by name (known and unknown), mouse motion, wide or offset
// accesses the ports must ignore, and polling drains as a driver does.
//
// Input: [op count u8][ops: 8 bytes each].
//
// Invariants, beyond "no crash": the harness keeps its own copy of the
// command byte, system flag, "last write was a command" and where the next
// data byte goes (all follow from what the guest wrote), and checks that:
//  - status reads have no side effects (two reads agree), bit 1 (input
//    buffer full) and bit 4 (unlocked) are fixed, bit 2 is the system flag,
//    bit 3 says whether the last write went to 0x64, bit 5 (aux) only
//    with bit 0 (output full);
//  - IRQ 1 is high exactly when the output buffer holds a non-mouse byte
//    and command byte bit 0 is set; IRQ 12 likewise for a mouse byte and
//    bit 1;
//  - reading 0x60 with the buffer empty leaves it empty (nothing appears
//    from nowhere);
//  - the output never grows without bound: with no new input a polling
//    drain empties the buffer within 256 reads, after which both lines are
//    low;
//  - a reset (VmControl stop request) happens exactly on a pulse command
//    0xF0-0xFF with bit 0 clear or an output-port write (0xD1) with bit 0
//    clear, and on nothing else;
//  - wide or offset accesses read all-ones and change nothing;
//  - inject_key() accepts exactly the names is_known_key() knows.
#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "devices/i8042/i8042.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/support/fakes.h"

namespace {

using keel::fuzz::FuzzInput;

constexpr size_t kOpBytes = 8;
constexpr size_t kDrainLimit = 256;

constexpr uint8_t kOutputFull = 0x01, kInputFull = 0x02, kSystemFlag = 0x04, kLastCommand = 0x08,
                  kUnlocked = 0x10, kAux = 0x20;

// Known keys of every shape (plain, extended, Print Screen, Pause), and
// names that are not keys.
constexpr std::array<std::string_view, 16> kKeyNames{"a",    "ret",  "shift",   "ctrl_r", "esc",  "up",
                                                     "pause", "print", "kp_enter", "f12",    "spc",  "alt_r",
                                                     "meta_l", "1",    "nokey",   ""};

// Keyboard and mouse commands a driver sends, with their parameters.
constexpr std::array<uint8_t, 14> kKeyboardCommands{0xFF, 0xED, 0xEE, 0xF0, 0xF2, 0xF3, 0xF4,
                                                    0xF5, 0xF6, 0xFE, 0x00, 0x01, 0x02, 0x03};
constexpr std::array<uint8_t, 20> kMouseCommands{0xFF, 0xF6, 0xF5, 0xF4, 0xF3, 0xF2, 0xF0, 0xEE, 0xEC, 0xEB,
                                                 0xEA, 0xE9, 0xE8, 0xE7, 0xE6, 200,  100,  80,   0x03, 0x0A};

enum class Target { keyboard, ram, output_port, other, mouse };

class Harness {
 public:
  uint8_t status() {
    const uint8_t value = read(*i8042_.command_port());
    FUZZ_CHECK(read(*i8042_.command_port()) == value, "status reads have no side effects");
    return value;
  }
  uint8_t read_data() {
    const bool was_full = (status() & kOutputFull) != 0;
    const uint8_t value = read(*i8042_.data_port());
    if (!was_full) FUZZ_CHECK(!(status() & kOutputFull), "reading an empty buffer leaves it empty");
    return value;
  }

  void command(uint8_t value) {
    last_was_command_ = true;
    target_ = Target::keyboard;
    if (value >= 0x60 && value <= 0x7F) {
      target_ = Target::ram;
      ram_index_ = value & 0x1F;
    } else if (value >= 0xF0) {
      if (!(value & 1)) ++expected_resets_;
    } else {
      switch (value) {
        case 0xA7: command_byte_ |= 0x20; break;
        case 0xA8: command_byte_ &= ~0x20; break;
        case 0xAD: command_byte_ |= 0x10; break;
        case 0xAE: command_byte_ &= ~0x10; break;
        case 0xAA: system_flag_ = true; break;
        case 0xD1: target_ = Target::output_port; break;
        case 0xD2:
        case 0xD3: target_ = Target::other; break;
        case 0xD4: target_ = Target::mouse; break;
        default: break;
      }
    }
    write(*i8042_.command_port(), value);
  }
  void data(uint8_t value) {
    last_was_command_ = false;
    const Target target = target_;
    target_ = Target::keyboard;
    switch (target) {
      case Target::keyboard: command_byte_ &= ~0x10; break;
      case Target::mouse: command_byte_ &= ~0x20; break;
      case Target::ram:
        if (ram_index_ == 0) {
          command_byte_ = value;
          system_flag_ = (value & 0x04) != 0;
        }
        break;
      case Target::output_port:
        if (!(value & 1)) ++expected_resets_;
        break;
      case Target::other: break;
    }
    write(*i8042_.data_port(), value);
  }

  size_t drain() {
    size_t reads = 0;
    while (reads < kDrainLimit && (status() & kOutputFull)) {
      read_data();
      ++reads;
    }
    return reads;
  }

  void run(FuzzInput& op) {
    const uint8_t kind = op.u8();
    switch (kind % 12) {
      case 0: command(op.u8()); break;
      case 1: data(op.u8()); break;
      case 2: read_data(); break;
      case 3: {  // a keyboard command with its parameter
        data(kKeyboardCommands[op.u8() % kKeyboardCommands.size()]);
        if (op.flag()) data(op.u8());
        break;
      }
      case 4: {  // a mouse command (0xD4 each byte), parameter optional
        command(0xD4);
        data(kMouseCommands[op.u8() % kMouseCommands.size()]);
        if (op.flag()) {
          command(0xD4);
          data(op.u8());
        }
        break;
      }
      case 5: {  // command byte as a driver writes it
        command(0x60);
        data(op.u8());
        break;
      }
      case 6: {  // a key by name
        const std::string_view name = kKeyNames[op.u8() % kKeyNames.size()];
        const bool accepted = i8042_.inject_key(name, op.flag());
        FUZZ_CHECK(accepted == keel::devices::I8042::is_known_key(name), "injection accepts exactly known keys");
        break;
      }
      case 7: {  // mouse motion, small or huge
        const uint8_t shape = op.u8();
        int dx = static_cast<int16_t>(op.u16());
        int dy = static_cast<int16_t>(op.u16());
        if (shape & 1) dx *= 30000;  // far past the mouse's pending-motion cap, still an int
        if (shape & 2) dy *= 30000;
        i8042_.inject_mouse(dx, dy, op.u8());
        break;
      }
      case 8: {  // accesses the ports must ignore: wide, or at an offset
        const uint8_t pick = op.u8();
        auto& port = (pick & 1) ? *i8042_.data_port() : *i8042_.command_port();
        const uint8_t before = status();
        std::array<std::byte, 4> bytes{std::byte{op.u8()}, std::byte{0}, std::byte{0}, std::byte{0}};
        const size_t width = (pick & 2) ? 1 : ((pick & 8) ? 4 : 2);
        const uint64_t offset = (pick & 2) ? 1 : 0;
        if (pick & 4) {
          port.write(offset, std::span(bytes).first(width));
        } else {
          port.read(offset, std::span(bytes).first(width));
          for (size_t i = 0; i < width; ++i) FUZZ_CHECK(bytes[i] == std::byte{0xFF}, "bad accesses read all-ones");
        }
        FUZZ_CHECK(status() == before, "bad accesses change nothing");
        break;
      }
      case 9: {  // a polling driver's drain
        FUZZ_CHECK(drain() < kDrainLimit, "the output drains within a bounded number of reads");
        FUZZ_CHECK(!keyboard_irq_->level() && !mouse_irq_->level(), "both lines are low once drained");
        break;
      }
      default: {  // an interrupt handler: one byte per raised line
        if (keyboard_irq_->level() || mouse_irq_->level()) read_data();
        break;
      }
    }
  }

  void check() {
    const uint8_t s = status();
    FUZZ_CHECK(!(s & kInputFull), "the input buffer is never seen full");
    FUZZ_CHECK(s & kUnlocked, "the keyboard is never locked");
    FUZZ_CHECK(((s & kSystemFlag) != 0) == system_flag_, "status bit 2 is the system flag");
    FUZZ_CHECK(((s & kLastCommand) != 0) == last_was_command_, "status bit 3 says where the last write went");
    FUZZ_CHECK(!(s & kAux) || (s & kOutputFull), "the aux bit only with a full buffer");
    const bool full = (s & kOutputFull) != 0, aux = (s & kAux) != 0;
    FUZZ_CHECK(keyboard_irq_->level() == (full && !aux && (command_byte_ & 0x01)),
               "IRQ 1 is a full buffer with a keyboard byte, gated by command byte bit 0");
    FUZZ_CHECK(mouse_irq_->level() == (full && aux && (command_byte_ & 0x02)),
               "IRQ 12 is a full buffer with a mouse byte, gated by command byte bit 1");
    FUZZ_CHECK(vm_.requests() == expected_resets_, "resets come exactly from the CPU reset line");
  }

  void finish() {
    FUZZ_CHECK(drain() < kDrainLimit, "the output drains within a bounded number of reads");
    check();
  }

 private:
  static uint8_t read(keel::BusDevice& port) {
    std::byte value{};
    port.read(0, std::span(&value, 1));
    return std::to_integer<uint8_t>(value);
  }
  static void write(keel::BusDevice& port, uint8_t value) {
    const std::byte byte{value};
    port.write(0, std::span(&byte, 1));
  }

  std::shared_ptr<keel::testing::FakeIrqLine> keyboard_irq_ = std::make_shared<keel::testing::FakeIrqLine>();
  std::shared_ptr<keel::testing::FakeIrqLine> mouse_irq_ = std::make_shared<keel::testing::FakeIrqLine>();
  keel::testing::FakeVmControl vm_;
  keel::devices::I8042 i8042_{keyboard_irq_, mouse_irq_, vm_};
  uint8_t command_byte_ = 0x65;  // what keel starts with (devices/i8042/README.md)
  bool system_flag_ = true;
  bool last_was_command_ = true;
  Target target_ = Target::keyboard;
  uint8_t ram_index_ = 0;
  int expected_resets_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * kOpBytes));

  Harness harness;
  harness.check();
  while (!script.empty()) {
    FuzzInput op(script.bytes(kOpBytes));
    harness.run(op);
    harness.check();
  }
  harness.finish();
  return 0;
}
