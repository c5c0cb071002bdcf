#include "src/vmm/key_injector.h"

#include <future>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"

namespace keel::vmm {

KeyCombo parse_key_combo(std::string_view text) {
  if (text.empty()) throw ConfigError("empty key in the key-injection list");
  KeyCombo combo;
  size_t start = 0;
  for (;;) {
    size_t dash = text.find('-', start);
    std::string_view key = text.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start);
    if (key.empty()) throw ConfigError(fmt::format("bad key combo '{}': empty key name (use 'minus' for '-')", text));
    combo.keys.emplace_back(key);
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  return combo;
}

std::vector<KeyCombo> parse_key_combos(const std::vector<std::string>& texts) {
  std::vector<KeyCombo> combos;
  combos.reserve(texts.size());
  for (const std::string& text : texts) combos.push_back(parse_key_combo(text));
  return combos;
}

KeyInjector::KeyInjector(std::vector<KeyCombo> combos, InjectFn inject, std::chrono::milliseconds delay)
    : combos_(std::move(combos)), inject_(std::move(inject)), delay_(delay) {}

void KeyInjector::start(std::function<void()> on_thread_start) {
  if (thread_.joinable()) return;
  if (!on_thread_start) {
    thread_ = std::thread([this] { run(); });
    return;
  }
  std::promise<void> started;
  std::future<void> start_result = started.get_future();
  thread_ = std::thread([this, started = std::move(started), &on_thread_start]() mutable {
    try {
      on_thread_start();
    } catch (...) {
      started.set_exception(std::current_exception());
      return;
    }
    started.set_value();
    run();
  });
  try {
    start_result.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

KeyInjector::~KeyInjector() {
  cancel();
  if (thread_.joinable()) thread_.join();
}

void KeyInjector::trigger() noexcept {
  {
    std::lock_guard guard(lock_);
    triggered_ = true;
  }
  changed_.notify_all();
}

void KeyInjector::cancel() noexcept {
  {
    std::lock_guard guard(lock_);
    cancelled_ = true;
  }
  changed_.notify_all();
}

bool KeyInjector::wait_done(std::chrono::milliseconds timeout) {
  std::unique_lock guard(lock_);
  return changed_.wait_for(guard, timeout, [this] { return done_; });
}

bool KeyInjector::sleep_or_cancel(std::chrono::milliseconds duration) {
  std::unique_lock guard(lock_);
  return !changed_.wait_for(guard, duration, [this] { return cancelled_; });
}

void KeyInjector::run() noexcept {
  try {
    play();
  } catch (const std::exception& error) {
    spdlog::error("key injection stopped: {}", error.what());
  }
}

void KeyInjector::play() {
  {
    std::unique_lock guard(lock_);
    changed_.wait(guard, [this] { return triggered_ || cancelled_; });
    if (cancelled_) return;
  }
  spdlog::info("key injection: sending {} key combo(s)", combos_.size());
  for (const KeyCombo& combo : combos_) {
    for (const std::string& key : combo.keys) {
      if (!inject_(key, true)) spdlog::warn("key injection: unknown key '{}'", key);
    }
    if (!sleep_or_cancel(delay_)) return;
    for (auto key = combo.keys.rbegin(); key != combo.keys.rend(); ++key) (void)inject_(*key, false);
    if (!sleep_or_cancel(delay_)) return;
  }
  {
    std::lock_guard guard(lock_);
    done_ = true;
  }
  changed_.notify_all();
}

}  // namespace keel::vmm
