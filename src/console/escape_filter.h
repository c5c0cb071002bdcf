// The stdio console's escape keys, as in QEMU's character-device mux:
// Ctrl-A x quits, Ctrl-A h (or ?) prints help, Ctrl-A Ctrl-A sends one
// Ctrl-A, and Ctrl-A followed by any other key sends nothing. A pure state
// machine so it can be tested without a terminal; the escape may be split
// across reads.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace keel::console {

class EscapeFilter {
 public:
  static constexpr std::byte kEscape{0x01};  // Ctrl-A

  enum class Action { quit, help };

  struct Result {
    std::vector<std::byte> pass;  // bytes for the guest, in order
    std::vector<Action> actions;  // in the order the keys were typed
  };

  Result feed(std::span<const std::byte> input);

  // True after a Ctrl-A whose command key has not arrived yet.
  bool escape_pending() const noexcept { return escape_pending_; }

  // The text Ctrl-A h prints (lines end in "\r\n": the terminal is raw).
  static std::string_view help_text() noexcept;

 private:
  bool escape_pending_ = false;
};

}  // namespace keel::console
