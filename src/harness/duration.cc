#include "src/harness/duration.h"

#include <cstdint>
#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::harness {
namespace {

using std::chrono::nanoseconds;

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kMaxSeconds = 366LL * 24 * 3600;  // a timeout beyond a year is a typo

[[noreturn]] void bad(std::string_view flag, std::string_view text, std::string_view why) {
  throw ConfigError(fmt::format("invalid {} '{}': {}", flag, text, why));
}

// Nanoseconds per unit, or 0 for an unknown unit.
int64_t unit_nanos(std::string_view unit) {
  if (unit.empty() || unit == "s") return kNanosPerSecond;
  if (unit == "ms") return 1'000'000;
  if (unit == "m") return 60 * kNanosPerSecond;
  if (unit == "h") return 3600 * kNanosPerSecond;
  return 0;
}

}  // namespace

nanoseconds parse_duration(std::string_view text, std::string_view flag) {
  if (text.empty()) bad(flag, text, "expected a duration such as 30s, 2m, 500ms or 1h");
  size_t pos = 0;
  // Whole part: digits only, bounded so the arithmetic below cannot overflow.
  int64_t whole = 0;
  size_t whole_digits = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (whole > kMaxSeconds * 1000) bad(flag, text, "too large (at most a year)");
    whole = whole * 10 + (text[pos] - '0');
    ++pos;
    ++whole_digits;
  }
  // Fraction: up to 9 digits kept (nanosecond resolution of seconds), more
  // digits are accepted and ignored.
  int64_t fraction_nanos = 0;  // the fraction scaled to 1e9
  size_t fraction_digits = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = kNanosPerSecond / 10;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction_nanos += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++fraction_digits;
    }
    if (fraction_digits == 0) bad(flag, text, "expected digits after '.'");
  }
  if (whole_digits == 0 && fraction_digits == 0) {
    bad(flag, text, "expected a number, optionally followed by ms, s, m or h");
  }
  const std::string_view unit = text.substr(pos);
  const int64_t per_unit = unit_nanos(unit);
  if (per_unit == 0) bad(flag, text, fmt::format("unknown unit '{}' (use ms, s, m or h)", unit));
  // whole * per_unit: whole <= ~3.2e10 and per_unit <= 3.6e12 could overflow
  // int64, so check against the limit in the unit first.
  const int64_t max_whole = kMaxSeconds * kNanosPerSecond / per_unit;
  if (whole > max_whole) bad(flag, text, "too large (at most a year)");
  // fraction_nanos / 1e9 of a unit; per_unit / 1000 keeps it in range
  // (fraction_nanos < 1e9, per_unit / 1000 <= 3.6e9: product < 3.6e18).
  const int64_t total = whole * per_unit + fraction_nanos * (per_unit / 1000) / 1'000'000;
  if (total > kMaxSeconds * kNanosPerSecond) bad(flag, text, "too large (at most a year)");
  if (total <= 0) bad(flag, text, "must be greater than zero");
  return nanoseconds(total);
}

std::string format_duration(nanoseconds duration) {
  const int64_t millis = duration.count() / 1'000'000;
  if (millis < 1000) return fmt::format("{}ms", millis);
  if (millis % 3'600'000 == 0) return fmt::format("{}h", millis / 3'600'000);
  if (millis % 60'000 == 0) return fmt::format("{}m", millis / 60'000);
  if (millis % 1000 == 0) return fmt::format("{}s", millis / 1000);
  // Trailing zeros of the millisecond part are dropped: 1.5s, 12.345s.
  std::string text = fmt::format("{}.{:03}", millis / 1000, millis % 1000);
  while (text.back() == '0') text.pop_back();
  return text + "s";
}

double to_seconds(nanoseconds duration) noexcept {
  // Round to whole microseconds so JSON shows 12.345678, not binary noise.
  const int64_t micros = (duration.count() + 500) / 1000;
  return static_cast<double>(micros) / 1e6;
}

}  // namespace keel::harness
