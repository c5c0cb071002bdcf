#include "src/console/escape_filter.h"

namespace keel::console {

EscapeFilter::Result EscapeFilter::feed(std::span<const std::byte> input) {
  Result result;
  result.pass.reserve(input.size());
  for (std::byte byte : input) {
    if (!escape_pending_) {
      if (byte == kEscape) {
        escape_pending_ = true;
      } else {
        result.pass.push_back(byte);
      }
      continue;
    }
    escape_pending_ = false;
    switch (static_cast<char>(byte)) {
      case 'x':
        result.actions.push_back(Action::quit);
        break;
      case 'h':
      case '?':
        result.actions.push_back(Action::help);
        break;
      default:
        if (byte == kEscape) result.pass.push_back(kEscape);
        // Any other key after the escape is swallowed, as QEMU does.
        break;
    }
  }
  return result;
}

std::string_view EscapeFilter::help_text() noexcept {
  return "\r\n"
         "C-a h    print this help\r\n"
         "C-a x    exit keel\r\n"
         "C-a C-a  send C-a to the guest\r\n";
}

}  // namespace keel::console
