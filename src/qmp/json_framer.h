// Splits a QMP byte stream into whole JSON values. QMP needs no newlines
// between messages (QEMU's streamer counts braces and brackets), so neither
// do we: the framer follows strings, escapes and nesting to find where each
// top-level value ends, and hands its text on for parsing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace keel::qmp {

// One thing the framer found: either the text of one complete top-level
// JSON value (not yet parsed, so it may still be malformed), or an error the
// client must be told about (the value was too big or too deep; its rest is
// skipped, so one bad message costs one error reply).
struct Frame {
  enum class Kind { value, error };
  Kind kind;
  std::string text;  // value: the JSON text; error: the QMP error description
};

class JsonFramer {
 public:
  static constexpr size_t kDefaultMaxValueBytes = 64 * 1024;
  // QEMU's streamer refuses deeper nesting with the same limit.
  static constexpr size_t kDefaultMaxDepth = 1024;

  explicit JsonFramer(size_t max_value_bytes = kDefaultMaxValueBytes,
                      size_t max_depth = kDefaultMaxDepth) noexcept
      : max_value_bytes_(max_value_bytes), max_depth_(max_depth) {}

  // Appends bytes read from the client. The caller feeds more only once
  // next() has returned nullopt, so the unscanned input stays one read long.
  void feed(std::string_view bytes);
  void feed(std::span<const std::byte> bytes) {
    feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }

  // The next complete frame, or nullopt when all input fed so far has been
  // scanned (a partial value stays pending).
  std::optional<Frame> next();

  // True while bytes fed have not been scanned yet (next() would do work).
  bool has_unscanned_input() const noexcept { return scan_pos_ < input_.size(); }
  // Bytes of the value being assembled (at most max_value_bytes).
  size_t pending_value_bytes() const noexcept { return value_.size(); }

 private:
  enum class Mode : uint8_t {
    idle,        // between values
    container,   // inside an object or array
    top_string,  // a string that is itself the top-level value
    bare,        // a top-level number, keyword or garbage token
  };

  static bool is_whitespace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool ends_bare_token(char c) noexcept;
  std::optional<Frame> scan_structured(char c);
  std::optional<Frame> append(char c);
  Frame finish_value();
  Frame fail_and_skip(const char* description);

  size_t max_value_bytes_;
  size_t max_depth_;
  std::string input_;  // bytes fed; [scan_pos_, size) not scanned yet
  size_t scan_pos_ = 0;
  std::string value_;  // text of the value being assembled
  Mode mode_ = Mode::idle;
  bool skipping_ = false;  // the current value broke a limit: scan it to its end, keep nothing
  bool in_string_ = false;
  bool escaped_ = false;
  size_t depth_ = 0;
};

}  // namespace keel::qmp
