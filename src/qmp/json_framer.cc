#include "src/qmp/json_framer.h"

#include <utility>

namespace keel::qmp {

void JsonFramer::feed(std::string_view bytes) {
  if (scan_pos_ == input_.size()) {
    input_.clear();
    scan_pos_ = 0;
  }
  input_.append(bytes);
}

bool JsonFramer::ends_bare_token(char c) noexcept {
  switch (c) {
    case '{': case '}': case '[': case ']': case '"': case ',': case ':':
      return true;
    default:
      return is_whitespace(c);
  }
}

// Keeps `c` unless the value already holds the maximum; then the value is
// abandoned (its rest is scanned but not kept) and the error returned.
std::optional<Frame> JsonFramer::append(char c) {
  if (skipping_) return std::nullopt;
  if (value_.size() >= max_value_bytes_) return fail_and_skip("JSON token size limit exceeded");
  value_.push_back(c);
  return std::nullopt;
}

Frame JsonFramer::fail_and_skip(const char* description) {
  skipping_ = true;
  value_.clear();
  return Frame{Frame::Kind::error, description};
}

Frame JsonFramer::finish_value() {
  Frame frame{Frame::Kind::value, std::move(value_)};
  value_.clear();
  mode_ = Mode::idle;
  skipping_ = in_string_ = escaped_ = false;
  depth_ = 0;
  return frame;
}

// One byte of an object, array or top-level string, after append(): follows
// strings and nesting. Returns a frame when the value ends or breaks the
// depth limit.
std::optional<Frame> JsonFramer::scan_structured(char c) {
  bool complete = false;
  std::optional<Frame> error;
  if (in_string_) {
    if (escaped_) {
      escaped_ = false;
    } else if (c == '\\') {
      escaped_ = true;
    } else if (c == '"') {
      in_string_ = false;
      complete = mode_ == Mode::top_string;
    }
  } else if (c == '"') {
    in_string_ = true;
  } else if (c == '{' || c == '[') {
    ++depth_;
    if (depth_ > max_depth_ && !skipping_) error = fail_and_skip("JSON nesting depth limit exceeded");
  } else if (c == '}' || c == ']') {
    // A mismatched closer (`{]`) still ends the value; the parser rejects it.
    complete = --depth_ == 0;
  }
  if (!complete) return error;
  if (skipping_) {
    // The end of an abandoned value: its error went out when it broke the limit.
    mode_ = Mode::idle;
    skipping_ = in_string_ = escaped_ = false;
    depth_ = 0;
    value_.clear();
    return error;
  }
  return finish_value();
}

std::optional<Frame> JsonFramer::next() {
  while (scan_pos_ < input_.size()) {
    const char c = input_[scan_pos_];
    switch (mode_) {
      case Mode::idle:
        ++scan_pos_;
        if (is_whitespace(c)) continue;
        value_.assign(1, c);
        if (c == '{' || c == '[') {
          mode_ = Mode::container;
          depth_ = 1;
        } else if (c == '"') {
          mode_ = Mode::top_string;
          in_string_ = true;
        } else if (c == '}' || c == ']') {
          // A closer with nothing open: QEMU answers this very error.
          value_.clear();
          return Frame{Frame::Kind::error, "JSON parse error, expecting value"};
        } else {
          mode_ = Mode::bare;
        }
        continue;
      case Mode::bare:
        if (ends_bare_token(c)) {  // the delimiter belongs to what follows
          if (!skipping_) return finish_value();
          mode_ = Mode::idle;
          skipping_ = false;
          continue;
        }
        ++scan_pos_;
        if (auto error = append(c)) return error;
        continue;
      case Mode::container:
      case Mode::top_string: {
        ++scan_pos_;
        auto size_error = append(c);
        auto frame = scan_structured(c);
        if (size_error) return size_error;  // at most one error per value
        if (frame) return frame;
        continue;
      }
    }
  }
  input_.clear();
  scan_pos_ = 0;
  return std::nullopt;
}

}  // namespace keel::qmp
