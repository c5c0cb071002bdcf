// Polls a condition from a test thread until it holds or a limit passes:
// for tests that watch another thread (an event loop, a server) act.
#pragma once

#include <chrono>
#include <thread>

namespace keel::testing {

// True once `condition()` holds, checked every 2 ms for up to `limit`
// (and once more at the end).
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

}  // namespace keel::testing
