// DURATION values of the command line (`--timeout 30s`): parsing and the
// short form used in messages.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace keel::harness {

// "500ms", "30s", "2m", "1h", or a plain number of seconds ("45"). A decimal
// fraction is allowed ("1.5s", "0.25"). Zero, negative, empty, unknown units
// and values above a year are ConfigErrors naming `flag` and the text.
std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view flag = "--timeout");

// "30s", "2m", "1.5s", "250ms", "12.345s": the shortest exact-enough form
// for one-line messages (millisecond resolution).
std::string format_duration(std::chrono::nanoseconds duration);

// Seconds as a JSON/JUnit number: 12.345678 (microsecond resolution).
double to_seconds(std::chrono::nanoseconds duration) noexcept;

}  // namespace keel::harness
