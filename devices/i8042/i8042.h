// i8042 keyboard controller with a PS/2 keyboard (scancode set 2, translated
// to set 1 when the command byte asks) and a PS/2 mouse. Ports 0x60 (data)
// and 0x64 (status/command); IRQ 1 (keyboard) and IRQ 12 (mouse).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>

#include "keel/bus_device.h"
#include "keel/irq_line.h"
#include "keel/resettable.h"
#include "keel/vm_control.h"

namespace keel::devices {

class I8042 final : public Resettable {
 public:
  static constexpr uint16_t kDataPort = 0x60;
  static constexpr uint16_t kCommandPort = 0x64;
  static constexpr uint32_t kKeyboardIrq = 1;
  static constexpr uint32_t kMouseIrq = 12;

  I8042(std::shared_ptr<IrqLine> keyboard_irq, std::shared_ptr<IrqLine> mouse_irq, VmControl& vm);
  ~I8042() override;
  // Power-on reset of the controller, keyboard and mouse: everything as at
  // construction (command byte, output buffer, keyboard and mouse modes and
  // buffers), both IRQ lines low.
  void reset() noexcept override;

  // Bus devices for the two one-byte ports; insert each with length 1.
  std::shared_ptr<BusDevice> data_port();
  std::shared_ptr<BusDevice> command_port();

  // Input injection (tests, the CLI, later the control socket). `key` is a
  // QEMU QKeyCode name ("a", "1", "ret", "spc", "shift", "ctrl", "esc",
  // "up", ...). Returns false for an unknown name. A known key that the
  // keyboard cannot take (scanning disabled by the guest, its 16-byte buffer
  // full) is dropped as on hardware, and still returns true. Thread-safe.
  bool inject_key(std::string_view key, bool pressed) noexcept;
  // Whether `key` names a key inject_key() knows (checked at start-up, so a
  // typo in --send-keys is a configuration error rather than a lost key).
  static bool is_known_key(std::string_view key) noexcept;
  // The key name for QEMU's KeyValue "number" (the set 1 code, +0x80 for an
  // E0-prefixed key), as QMP's send-key takes it; nullopt when no key has it.
  static std::optional<std::string_view> key_name_for_number(uint32_t number) noexcept;
  // Relative motion and button state (bit 0 left, 1 right, 2 middle).
  // Screen orientation, as in QEMU's input layer: dy > 0 moves down (the
  // mouse reports it as negative PS/2 y). Thread-safe.
  void inject_mouse(int dx, int dy, uint8_t buttons) noexcept;

 private:
  struct State;  // the controller and its lock, shared with the two ports
  class Port;
  std::shared_ptr<State> state_;
  std::shared_ptr<BusDevice> data_port_;
  std::shared_ptr<BusDevice> command_port_;
};

}  // namespace keel::devices
