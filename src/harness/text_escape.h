// Console text is whatever bytes the guest wrote: invalid UTF-8, escape
// sequences, NULs. These helpers turn it into text that a terminal line, a
// UTF-8 JSON string and an XML 1.0 document can hold. Bytes that cannot be
// kept become a visible "\xNN" so nothing is silently lost.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keel::harness {

// Valid UTF-8 is kept (control characters too); each byte of an invalid
// sequence (bad lead byte, truncated, overlong, surrogate, > U+10FFFF)
// becomes "\xNN". For JSON, whose writer escapes control characters itself.
std::string to_valid_utf8(std::string_view bytes);

// For one line on a terminal: like to_valid_utf8, and every control
// character (C0 including tab and newline, DEL) becomes "\xNN". Longer than
// max_bytes: cut at a character boundary and "..." appended.
std::string to_one_line(std::string_view bytes, size_t max_bytes = 200);

// XML 1.0 character data or attribute value: like to_valid_utf8; characters
// XML 1.0 forbids (C0 controls other than tab/newline/CR, U+FFFE, U+FFFF)
// become "\xNN"; & < > " ' become entities; in attributes (in_attribute)
// tab, newline and CR become character references so parsers keep them.
std::string to_xml_text(std::string_view bytes, bool in_attribute = false);

}  // namespace keel::harness
