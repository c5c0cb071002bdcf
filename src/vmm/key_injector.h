// Scripted key presses for the PS/2 keyboard: parse "shift-a"-style combos
// (QKeyCode names joined by '-'), and play them from a thread of their own
// once triggered: press each key of a combo in order, wait, release them in
// reverse order, wait, next combo.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace keel::vmm {

struct KeyCombo {
  std::vector<std::string> keys;  // pressed in this order, released in reverse
  friend bool operator==(const KeyCombo&, const KeyCombo&) = default;
};

// "shift-a" -> {shift, a}; "ret" -> {ret}. Throws ConfigError on an empty
// combo or an empty key name ("", "shift-", "-a", "a--b"). Key names are
// checked by the keyboard when injected (unknown ones are logged).
KeyCombo parse_key_combo(std::string_view text);
std::vector<KeyCombo> parse_key_combos(const std::vector<std::string>& texts);

class KeyInjector {
 public:
  // Returns false for an unknown key name.
  using InjectFn = std::function<bool(std::string_view key, bool pressed)>;

  // No thread yet: keel builds the injector during set-up and starts it with
  // the other threads, after privileges are dropped (start()).
  KeyInjector(std::vector<KeyCombo> combos, InjectFn inject,
              std::chrono::milliseconds delay = std::chrono::milliseconds(20));
  ~KeyInjector();  // cancels and joins
  KeyInjector(const KeyInjector&) = delete;
  KeyInjector& operator=(const KeyInjector&) = delete;

  // Starts the playing thread (once). `on_thread_start` runs first on it
  // (keel installs its seccomp filter there); start() waits for it and
  // rethrows what it throws, leaving no thread behind.
  void start(std::function<void()> on_thread_start = {});

  // Start playing (the first call only; before start() it is remembered).
  // Safe from any thread, noexcept.
  void trigger() noexcept;
  // Stop playing as soon as possible (releases nothing further).
  void cancel() noexcept;
  // For tests: wait until every combo was played.
  bool wait_done(std::chrono::milliseconds timeout);

 private:
  void run() noexcept;
  void play();
  bool sleep_or_cancel(std::chrono::milliseconds duration);  // false when cancelled

  std::vector<KeyCombo> combos_;
  InjectFn inject_;
  std::chrono::milliseconds delay_;
  std::mutex lock_;
  std::condition_variable changed_;
  bool triggered_ = false;
  bool cancelled_ = false;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace keel::vmm
