#include "src/harness/text_escape.h"

#include <cstdint>
#include <fmt/format.h>

namespace keel::harness {
namespace {

// Length of the valid UTF-8 sequence at the start of `s` and its code point,
// or length 0 when the first byte does not start one (RFC 3629 rules:
// shortest form only, no surrogates, nothing above U+10FFFF).
struct Decoded {
  size_t length;
  uint32_t code_point;
};

Decoded decode_utf8(std::string_view s) noexcept {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return {1, lead};
  size_t length;
  uint32_t code_point;
  uint32_t minimum;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, code_point = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code_point = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code_point = lead & 0x07, minimum = 0x10000;
  } else {
    return {0, 0};  // continuation byte or 0xF8..0xFF as a lead
  }
  if (s.size() < length) return {0, 0};
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return {0, 0};
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF) return {0, 0};
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return {0, 0};
  return {length, code_point};
}

void append_hex_byte(std::string& out, char c) {
  out += fmt::format("\\x{:02x}", static_cast<uint8_t>(c));
}

enum class Mode { utf8, one_line, xml_text, xml_attribute };

// Appends the character at the front of `s` (as `d` decoded it) in `mode`.
void append_character(std::string& out, std::string_view s, Decoded d, Mode mode) {
  const uint32_t cp = d.code_point;
  const std::string_view raw = s.substr(0, d.length);
  switch (mode) {
    case Mode::utf8:
      out += raw;
      return;
    case Mode::one_line:
      if (cp < 0x20 || cp == 0x7F) return append_hex_byte(out, raw[0]);
      out += raw;
      return;
    case Mode::xml_text:
    case Mode::xml_attribute: {
      const bool attribute = mode == Mode::xml_attribute;
      if (cp == '\t' || cp == '\n' || cp == '\r') {
        if (attribute) {
          out += fmt::format("&#{};", cp);
        } else {
          out += raw;
        }
        return;
      }
      if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF) {
        for (char c : raw) append_hex_byte(out, c);
        return;
      }
      switch (cp) {
        case '&': out += "&amp;"; return;
        case '<': out += "&lt;"; return;
        case '>': out += "&gt;"; return;
        case '"': out += "&quot;"; return;
        case '\'': out += "&apos;"; return;
        default: out += raw; return;
      }
    }
  }
}

std::string convert(std::string_view bytes, Mode mode) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    const Decoded d = decode_utf8(bytes);
    if (d.length == 0) {
      append_hex_byte(out, bytes[0]);
      bytes.remove_prefix(1);
      continue;
    }
    append_character(out, bytes, d, mode);
    bytes.remove_prefix(d.length);
  }
  return out;
}

}  // namespace

std::string to_valid_utf8(std::string_view bytes) { return convert(bytes, Mode::utf8); }

std::string to_one_line(std::string_view bytes, size_t max_bytes) {
  std::string text = convert(bytes, Mode::one_line);
  if (text.size() <= max_bytes) return text;
  // Cut before a UTF-8 continuation byte never: back up to a lead byte.
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

std::string to_xml_text(std::string_view bytes, bool in_attribute) {
  return convert(bytes, in_attribute ? Mode::xml_attribute : Mode::xml_text);
}

}  // namespace keel::harness
