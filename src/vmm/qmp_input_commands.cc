#include "src/vmm/qmp_input_commands.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "devices/i8042/i8042.h"

namespace keel::vmm {
namespace {

using qmp::ArgSpec;
using qmp::ArgType;
using qmp::CommandResult;
using qmp::Json;
using qmp::QmpError;

template <typename T>
using Parsed = std::expected<T, QmpError>;

QmpError missing(const std::string& path) {
  return QmpError{qmp::ErrorClass::generic_error, fmt::format("Parameter '{}' is missing", path)};
}

// `object`'s member `name` (nested at `path`) with the JSON type `type`, as
// QEMU's input visitor names a missing one or one of the wrong type.
Parsed<const Json*> member(const Json& object, const std::string& path, std::string_view name, ArgType type) {
  const std::string full = fmt::format("{}.{}", path, name);
  const auto found = object.find(name);
  if (found == object.end()) return std::unexpected(missing(full));
  const bool ok = type == ArgType::string    ? found->is_string()
                  : type == ArgType::boolean ? found->is_boolean()
                  : type == ArgType::integer ? found->is_number_integer()
                  : type == ArgType::object  ? found->is_object()
                                             : true;
  if (!ok) return std::unexpected(qmp::invalid_type(full, type));
  return &*found;
}

// QEMU checks for members it does not know once a struct is visited.
std::optional<QmpError> unexpected_member(const Json& object, const std::string& path,
                                          std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : object.items()) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return QmpError{qmp::ErrorClass::generic_error, fmt::format("Parameter '{}.{}' is unexpected", path, name)};
    }
  }
  return std::nullopt;
}

// An enum member: QEMU names only the member, not its path, in this error.
Parsed<std::string> enum_member(const Json& object, const std::string& path, std::string_view name,
                                std::initializer_list<std::string_view> allowed) {
  Parsed<const Json*> value = member(object, path, name, ArgType::string);
  if (!value) return std::unexpected(value.error());
  std::string text = (*value)->get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
    return std::unexpected(qmp::invalid_value(name, text));
  }
  return text;
}

int64_t as_int64(const Json& value) noexcept {
  if (value.is_number_unsigned()) {
    return static_cast<int64_t>(std::min<uint64_t>(value.get<uint64_t>(), std::numeric_limits<int64_t>::max()));
  }
  return value.get<int64_t>();
}

// One InputEvent, checked; what to do with it.
struct InputEvent {
  enum class Kind { key, button, motion, absolute } kind = Kind::key;
  ParsedKey key;           // key
  bool down = false;       // key, button
  uint8_t button_bit = 0;  // button: 0 for buttons the PS/2 mouse does not have (wheel, side, extra)
  bool x_axis = true;      // motion
  int64_t value = 0;       // motion
};

Parsed<InputEvent> parse_key_event(const Json& data, const std::string& path) {
  InputEvent event;
  event.kind = InputEvent::Kind::key;
  Parsed<const Json*> key = member(data, path, "key", ArgType::object);
  if (!key) return std::unexpected(key.error());
  Parsed<ParsedKey> parsed = parse_key_value(**key, path + ".key");
  if (!parsed) return std::unexpected(parsed.error());
  event.key = std::move(*parsed);
  Parsed<const Json*> down = member(data, path, "down", ArgType::boolean);
  if (!down) return std::unexpected(down.error());
  event.down = (*down)->get<bool>();
  if (auto extra = unexpected_member(data, path, {"key", "down"})) return std::unexpected(*extra);
  return event;
}

Parsed<InputEvent> parse_button_event(const Json& data, const std::string& path) {
  InputEvent event;
  event.kind = InputEvent::Kind::button;
  // QEMU 7.2's InputButton.
  Parsed<std::string> button = enum_member(data, path, "button", {"left", "middle", "right", "wheel-up", "wheel-down",
                                                                 "side", "extra", "wheel-left", "wheel-right"});
  if (!button) return std::unexpected(button.error());
  event.button_bit = *button == "left" ? 0x01 : *button == "right" ? 0x02 : *button == "middle" ? 0x04 : 0;
  Parsed<const Json*> down = member(data, path, "down", ArgType::boolean);
  if (!down) return std::unexpected(down.error());
  event.down = (*down)->get<bool>();
  if (auto extra = unexpected_member(data, path, {"button", "down"})) return std::unexpected(*extra);
  return event;
}

Parsed<InputEvent> parse_move_event(const Json& data, const std::string& path, bool absolute) {
  InputEvent event;
  event.kind = absolute ? InputEvent::Kind::absolute : InputEvent::Kind::motion;
  Parsed<std::string> axis = enum_member(data, path, "axis", {"x", "y"});
  if (!axis) return std::unexpected(axis.error());
  event.x_axis = *axis == "x";
  Parsed<const Json*> value = member(data, path, "value", ArgType::integer);
  if (!value) return std::unexpected(value.error());
  event.value = as_int64(**value);
  if (auto extra = unexpected_member(data, path, {"axis", "value"})) return std::unexpected(*extra);
  return event;
}

Parsed<InputEvent> parse_input_event(const Json& value, const std::string& path) {
  if (!value.is_object()) return std::unexpected(qmp::invalid_type(path, ArgType::object));
  Parsed<std::string> type = enum_member(value, path, "type", {"key", "btn", "rel", "abs"});
  if (!type) return std::unexpected(type.error());
  Parsed<const Json*> data = member(value, path, "data", ArgType::object);
  if (!data) return std::unexpected(data.error());
  const std::string data_path = path + ".data";
  Parsed<InputEvent> event = *type == "key"   ? parse_key_event(**data, data_path)
                             : *type == "btn" ? parse_button_event(**data, data_path)
                                              : parse_move_event(**data, data_path, *type == "abs");
  if (!event) return event;
  if (auto extra = unexpected_member(value, path, {"type", "data"})) return std::unexpected(*extra);
  return event;
}

int clamp_to_int(int64_t value) noexcept {
  return static_cast<int>(std::clamp<int64_t>(value, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

}  // namespace

std::expected<ParsedKey, QmpError> parse_key_value(const Json& value, const std::string& path) {
  if (!value.is_object()) return std::unexpected(qmp::invalid_type(path, ArgType::object));
  Parsed<std::string> type = enum_member(value, path, "type", {"number", "qcode"});
  if (!type) return std::unexpected(type.error());
  ParsedKey key;
  if (*type == "qcode") {
    Parsed<const Json*> data = member(value, path, "data", ArgType::string);
    if (!data) return std::unexpected(data.error());
    std::string name = (*data)->get<std::string>();
    // QEMU's QKeyCode has a few names (lf, help, kp_comma, the Japanese and
    // media keys ...) that keel's keyboard table lacks: those are refused.
    if (!devices::I8042::is_known_key(name)) return std::unexpected(qmp::invalid_value("data", name));
    key = std::move(name);
  } else {
    Parsed<const Json*> data = member(value, path, "data", ArgType::integer);
    if (!data) return std::unexpected(data.error());
    const int64_t number = as_int64(**data);
    if (number >= 0 && number <= std::numeric_limits<uint32_t>::max()) {
      if (auto name = devices::I8042::key_name_for_number(static_cast<uint32_t>(number))) key = std::string(*name);
    }
  }
  if (auto extra = unexpected_member(value, path, {"type", "data"})) return std::unexpected(*extra);
  return key;
}

InputCommands::InputCommands(KeyboardFn keyboard, RunStateFn run_state, TimerFactory& timers, const Clock& clock)
    : keyboard_(std::move(keyboard)), run_state_(std::move(run_state)), clock_(clock),
      timer_(timers.create_timer([this] { run_due_steps(); })) {}

void InputCommands::register_commands(qmp::CommandRegistry& registry) {
  registry.add("send-key",
               {ArgSpec{.name = "keys", .type = ArgType::array, .required = true},
                ArgSpec{.name = "hold-time", .type = ArgType::integer, .required = false}},
               [this](const Json& arguments) { return send_key(arguments); });
  registry.add("input-send-event",
               {ArgSpec{.name = "device", .type = ArgType::string, .required = false},
                ArgSpec{.name = "head", .type = ArgType::integer, .required = false},
                ArgSpec{.name = "events", .type = ArgType::array, .required = true}},
               [this](const Json& arguments) { return input_send_event(arguments); });
}

// QEMU presses each key, then releases them in reverse order after the hold
// time. A send-key issued while an earlier one still holds its keys starts
// once that one has released them, so two combos never interleave.
CommandResult InputCommands::send_key(const Json& arguments) {
  const Json& keys = arguments.at("keys");
  std::vector<ParsedKey> parsed;
  parsed.reserve(keys.size());
  for (size_t index = 0; index < keys.size(); ++index) {
    Parsed<ParsedKey> key = parse_key_value(keys[index], fmt::format("keys[{}]", index));
    if (!key) return std::unexpected(key.error());
    parsed.push_back(std::move(*key));
  }
  std::chrono::milliseconds hold = kDefaultHold;
  if (const auto found = arguments.find("hold-time"); found != arguments.end()) {
    hold = std::chrono::milliseconds(std::clamp<int64_t>(as_int64(*found), 0, kMaxHold.count()));
  }
  std::erase_if(parsed, [](const ParsedKey& key) { return !key.has_value(); });  // numbers no key has
  if (parsed.empty()) return Json::object();
  if (pending_.size() + 2 * parsed.size() > kMaxPendingSteps) {
    return qmp::generic_error(fmt::format("too many keys waiting to be sent (at most {} presses and releases)",
                                          kMaxPendingSteps));
  }
  const std::chrono::nanoseconds now = clock_.monotonic();
  const std::chrono::nanoseconds start = pending_.empty() ? now : std::max(now, pending_.back().due);
  for (const ParsedKey& key : parsed) pending_.push_back(Step{start, *key, true});
  for (auto key = parsed.rbegin(); key != parsed.rend(); ++key) pending_.push_back(Step{start + hold, **key, false});
  run_due_steps();  // the presses at once when nothing was waiting; then the timer for the rest
  return Json::object();
}

CommandResult InputCommands::input_send_event(const Json& arguments) {
  const Json& list = arguments.at("events");
  std::vector<InputEvent> events;
  events.reserve(list.size());
  for (size_t index = 0; index < list.size(); ++index) {
    Parsed<InputEvent> event = parse_input_event(list[index], fmt::format("events[{}]", index));
    if (!event) return std::unexpected(event.error());
    events.push_back(std::move(*event));
  }
  // keel's input devices have no QOM id a client could name.
  if (const auto device = arguments.find("device"); device != arguments.end()) {
    return std::unexpected(QmpError{qmp::ErrorClass::device_not_found,
                                    fmt::format("Device '{}' not found", device->get<std::string>())});
  }
  // Suspended (S3) too: QEMU delivers input then, and a key wakes the guest.
  if (const RunState state = run_state_(); state != RunState::running && state != RunState::suspended) {
    return qmp::generic_error("VM not running");
  }
  for (const InputEvent& event : events) {
    // As QEMU without a tablet: checked for every event before any is sent.
    if (event.kind == InputEvent::Kind::absolute) return qmp::generic_error("Input handler not found for event type abs");
  }
  devices::I8042* i8042 = keyboard_();
  if (i8042 == nullptr) return qmp::generic_error("the PS/2 keyboard and mouse are not ready yet");
  // Mouse events are gathered into packets as QEMU's input sync does; a
  // second change of the buttons within one call sends what came before it
  // first, so a press and release in one call is still a click.
  int dx = 0, dy = 0;
  uint8_t buttons = buttons_;
  bool mouse_pending = false;
  bool buttons_changed = false;
  auto flush_mouse = [&] {
    if (mouse_pending) i8042->inject_mouse(dx, dy, buttons);
    dx = dy = 0;
    mouse_pending = buttons_changed = false;
  };
  for (const InputEvent& event : events) {
    switch (event.kind) {
      case InputEvent::Kind::key:
        if (event.key) inject_key(*event.key, event.down);
        break;
      case InputEvent::Kind::button: {
        if (event.button_bit == 0) break;  // wheel, side, extra: not on this mouse
        const uint8_t next = event.down ? (buttons | event.button_bit) : (buttons & ~event.button_bit);
        if (next == buttons) break;
        if (buttons_changed) flush_mouse();
        buttons = next;
        buttons_changed = mouse_pending = true;
        break;
      }
      case InputEvent::Kind::motion: {
        const int delta = clamp_to_int(event.value);
        int& axis = event.x_axis ? dx : dy;
        axis = clamp_to_int(int64_t{axis} + delta);
        mouse_pending = true;
        break;
      }
      case InputEvent::Kind::absolute: break;  // refused above
    }
  }
  flush_mouse();
  buttons_ = buttons;
  return Json::object();
}

void InputCommands::inject_key(const std::string& key, bool down) noexcept {
  devices::I8042* i8042 = keyboard_();
  if (i8042 == nullptr) return;  // before the devices exist: nothing to type into
  (void)i8042->inject_key(key, down);  // names were checked when the command was parsed
  if (key_hook_) {
    try {
      key_hook_();
    } catch (...) {
      // A hook does not throw (acpi_s3's is noexcept); the key is in anyway.
    }
  }
}

// Runs on the loop thread: from send_key and from the timer.
void InputCommands::run_due_steps() noexcept {
  const std::chrono::nanoseconds now = clock_.monotonic();
  while (!pending_.empty() && pending_.front().due <= now) {
    const Step step = std::move(pending_.front());
    pending_.pop_front();
    inject_key(step.key, step.down);
  }
  if (pending_.empty()) {
    timer_->disarm();
  } else {
    timer_->arm(pending_.front().due);
  }
}

}  // namespace keel::vmm
