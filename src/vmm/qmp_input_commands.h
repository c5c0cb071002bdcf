// QMP's input commands (issue 10): send-key and input-send-event, through the
// i8042's PS/2 keyboard and mouse. Arguments are checked as QEMU 7.2's QAPI
// visitor checks them (same paths and words). send-key's key releases wait
// for hold-time on a timer of the loop that serves QMP, never by sleeping:
// the console loop keeps serving while keys are held.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "keel/clock.h"
#include "src/qmp/command_registry.h"
#include "src/vmm/run_state.h"

namespace keel::devices {
class I8042;
}

namespace keel::vmm {

// A parsed KeyValue: the QKeyCode name, or nullopt for a "number" no key has
// (QEMU accepts those and sends nothing).
using ParsedKey = std::optional<std::string>;

// Checks one KeyValue ({"type": "qcode"|"number", "data": ...}) found at
// `path` ("keys[0]"), with QEMU's wording.
std::expected<ParsedKey, qmp::QmpError> parse_key_value(const qmp::Json& value, const std::string& path);

class InputCommands {
 public:
  using KeyboardFn = std::function<devices::I8042*()>;  // null while the machine has none yet
  using RunStateFn = std::function<RunState()>;

  // QEMU's default hold-time; keel caps it (QEMU does not) so a typo cannot
  // hold a key for days.
  static constexpr std::chrono::milliseconds kDefaultHold{100};
  static constexpr std::chrono::milliseconds kMaxHold{60'000};
  // Presses and releases waiting for their time; beyond it send-key is refused.
  static constexpr size_t kMaxPendingSteps = 4096;

  // `timers` and `clock` belong to the loop that runs the QMP handlers (the
  // timer callback must run on that same thread: nothing here is locked).
  InputCommands(KeyboardFn keyboard, RunStateFn run_state, TimerFactory& timers, const Clock& clock);

  // Adds send-key and input-send-event. Handlers keep `this`.
  void register_commands(qmp::CommandRegistry& registry);

  size_t pending_steps() const noexcept { return pending_.size(); }

  // Called after each key event reaches the keyboard (ACPI S3: a key press
  // wakes a suspended machine, as QEMU's PS/2 keyboard asks for a wake-up).
  // Start-up only; must not block.
  void set_key_hook(std::function<void()> hook) { key_hook_ = std::move(hook); }

 private:
  struct Step {
    std::chrono::nanoseconds due;
    std::string key;
    bool down;
  };

  qmp::CommandResult send_key(const qmp::Json& arguments);
  qmp::CommandResult input_send_event(const qmp::Json& arguments);
  void run_due_steps() noexcept;
  void inject_key(const std::string& key, bool down) noexcept;

  KeyboardFn keyboard_;
  RunStateFn run_state_;
  const Clock& clock_;
  std::deque<Step> pending_;  // in due order
  std::unique_ptr<Timer> timer_;
  std::function<void()> key_hook_;
  uint8_t buttons_ = 0;  // the PS/2 mouse's button state as input-send-event left it
};

}  // namespace keel::vmm
