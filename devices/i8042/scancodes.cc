#include "devices/i8042/scancodes.h"

#include <algorithm>
#include <initializer_list>

#include "devices/i8042/set1_translation.h"

namespace keel::devices::i8042_detail {
namespace {

struct NamedKey {
  std::string_view name;
  Set2Key key;
};

constexpr Set2Key plain(uint8_t code) { return {code, KeyShape::plain}; }
constexpr Set2Key ext(uint8_t code) { return {code, KeyShape::extended}; }

// Set 2 codes of an MF2 (101/102-key) keyboard plus the common ACPI and
// Windows keys; names as in QEMU's qapi QKeyCode so `sendkey`-style scripts
// carry over.
constexpr NamedKey kKeys[] = {
    {"a", plain(0x1C)}, {"b", plain(0x32)}, {"c", plain(0x21)}, {"d", plain(0x23)},
    {"e", plain(0x24)}, {"f", plain(0x2B)}, {"g", plain(0x34)}, {"h", plain(0x33)},
    {"i", plain(0x43)}, {"j", plain(0x3B)}, {"k", plain(0x42)}, {"l", plain(0x4B)},
    {"m", plain(0x3A)}, {"n", plain(0x31)}, {"o", plain(0x44)}, {"p", plain(0x4D)},
    {"q", plain(0x15)}, {"r", plain(0x2D)}, {"s", plain(0x1B)}, {"t", plain(0x2C)},
    {"u", plain(0x3C)}, {"v", plain(0x2A)}, {"w", plain(0x1D)}, {"x", plain(0x22)},
    {"y", plain(0x35)}, {"z", plain(0x1A)},
    {"1", plain(0x16)}, {"2", plain(0x1E)}, {"3", plain(0x26)}, {"4", plain(0x25)},
    {"5", plain(0x2E)}, {"6", plain(0x36)}, {"7", plain(0x3D)}, {"8", plain(0x3E)},
    {"9", plain(0x46)}, {"0", plain(0x45)},
    {"esc", plain(0x76)}, {"minus", plain(0x4E)}, {"equal", plain(0x55)},
    {"backspace", plain(0x66)}, {"tab", plain(0x0D)}, {"bracket_left", plain(0x54)},
    {"bracket_right", plain(0x5B)}, {"ret", plain(0x5A)}, {"semicolon", plain(0x4C)},
    {"apostrophe", plain(0x52)}, {"grave_accent", plain(0x0E)}, {"backslash", plain(0x5D)},
    {"comma", plain(0x41)}, {"dot", plain(0x49)}, {"slash", plain(0x4A)},
    {"spc", plain(0x29)}, {"caps_lock", plain(0x58)}, {"less", plain(0x61)},
    {"shift", plain(0x12)}, {"shift_r", plain(0x59)}, {"ctrl", plain(0x14)},
    {"ctrl_r", ext(0x14)}, {"alt", plain(0x11)}, {"alt_r", ext(0x11)},
    {"meta_l", ext(0x1F)}, {"meta_r", ext(0x27)}, {"menu", ext(0x2F)},
    {"f1", plain(0x05)}, {"f2", plain(0x06)}, {"f3", plain(0x04)}, {"f4", plain(0x0C)},
    {"f5", plain(0x03)}, {"f6", plain(0x0B)}, {"f7", plain(0x83)}, {"f8", plain(0x0A)},
    {"f9", plain(0x01)}, {"f10", plain(0x09)}, {"f11", plain(0x78)}, {"f12", plain(0x07)},
    {"print", {0x7C, KeyShape::print_screen}}, {"sysrq", plain(0x84)},
    {"scroll_lock", plain(0x7E)}, {"pause", {0x77, KeyShape::pause}},
    {"insert", ext(0x70)}, {"delete", ext(0x71)}, {"home", ext(0x6C)}, {"end", ext(0x69)},
    {"pgup", ext(0x7D)}, {"pgdn", ext(0x7A)},
    {"up", ext(0x75)}, {"down", ext(0x72)}, {"left", ext(0x6B)}, {"right", ext(0x74)},
    {"num_lock", plain(0x77)}, {"kp_divide", ext(0x4A)}, {"kp_multiply", plain(0x7C)},
    {"asterisk", plain(0x7C)}, {"kp_subtract", plain(0x7B)}, {"kp_add", plain(0x79)},
    {"kp_enter", ext(0x5A)}, {"kp_decimal", plain(0x71)},
    {"kp_0", plain(0x70)}, {"kp_1", plain(0x69)}, {"kp_2", plain(0x72)}, {"kp_3", plain(0x7A)},
    {"kp_4", plain(0x6B)}, {"kp_5", plain(0x73)}, {"kp_6", plain(0x74)}, {"kp_7", plain(0x6C)},
    {"kp_8", plain(0x75)}, {"kp_9", plain(0x7D)},
    {"power", ext(0x37)}, {"sleep", ext(0x3F)}, {"wake", ext(0x5E)},
    {"audiomute", ext(0x23)}, {"volumedown", ext(0x21)}, {"volumeup", ext(0x32)},
};

ScancodeSequence make_sequence(std::initializer_list<uint8_t> bytes) noexcept {
  ScancodeSequence sequence;
  for (uint8_t byte : bytes) sequence.bytes[sequence.length++] = byte;
  return sequence;
}

}  // namespace

std::optional<Set2Key> find_key(std::string_view qkeycode_name) noexcept {
  const auto* it = std::find_if(std::begin(kKeys), std::end(kKeys),
                                [&](const NamedKey& entry) { return entry.name == qkeycode_name; });
  if (it == std::end(kKeys)) return std::nullopt;
  return it->key;
}

std::optional<std::string_view> key_name_for_number(uint32_t number) noexcept {
  for (const NamedKey& entry : kKeys) {
    uint32_t qnum = translate_set2_byte(entry.key.code);
    switch (entry.key.shape) {
      case KeyShape::plain: break;
      case KeyShape::extended:
      case KeyShape::print_screen: qnum |= 0x80; break;  // E0 37
      case KeyShape::pause: qnum = 0xC6; break;           // QEMU numbers Pause as Ctrl+Break's E0 46
    }
    if (qnum == number) return entry.name;  // the first of two names (kp_multiply, asterisk) wins
  }
  return std::nullopt;
}

ScancodeSequence set2_sequence(Set2Key key, bool pressed) noexcept {
  switch (key.shape) {
    case KeyShape::plain:
      return pressed ? make_sequence({key.code}) : make_sequence({0xF0, key.code});
    case KeyShape::extended:
      return pressed ? make_sequence({0xE0, key.code}) : make_sequence({0xE0, 0xF0, key.code});
    case KeyShape::print_screen:
      // The keyboard wraps Print Screen in a fake left-shift press so that
      // XT-era software sees the E0 2A / E0 37 pair it expects.
      return pressed ? make_sequence({0xE0, 0x12, 0xE0, 0x7C})
                     : make_sequence({0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12});
    case KeyShape::pause:
      // Pause sends Ctrl+NumLock with an E1 prefix, make and break together,
      // on press; releasing it sends nothing.
      if (!pressed) return {};
      return make_sequence({0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77});
  }
  return {};
}

}  // namespace keel::devices::i8042_detail
