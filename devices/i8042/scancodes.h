// Key names (QEMU QKeyCode spelling) and the scancode set 2 bytes a PS/2
// keyboard sends for them. Internal to devices/i8042.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keel::devices::i8042_detail {

enum class KeyShape : uint8_t {
  plain,         // make: code; break: F0 code
  extended,      // make: E0 code; break: E0 F0 code
  print_screen,  // make: E0 12 E0 7C; break: E0 F0 7C E0 F0 12
  pause,         // make: E1 14 77 E1 F0 14 F0 77; no break code at all
};

struct Set2Key {
  uint8_t code;
  KeyShape shape;
};

// The longest sequence is Pause's make (8 bytes).
struct ScancodeSequence {
  std::array<uint8_t, 8> bytes{};
  uint8_t length = 0;
};

// nullopt for a name that is not a known key.
[[nodiscard]] std::optional<Set2Key> find_key(std::string_view qkeycode_name) noexcept;

// QEMU's "number" key values (its qnum: the set 1 code, 0x80 added for an
// E0-prefixed key; Pause is 0xC6) -> the QKeyCode name of that key;
// nullopt for a number no key here has.
[[nodiscard]] std::optional<std::string_view> key_name_for_number(uint32_t number) noexcept;

// The set 2 bytes for pressing or releasing `key` (empty for releasing Pause).
[[nodiscard]] ScancodeSequence set2_sequence(Set2Key key, bool pressed) noexcept;

}  // namespace keel::devices::i8042_detail
