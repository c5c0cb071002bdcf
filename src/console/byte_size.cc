#include "src/console/byte_size.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::console {

uint64_t parse_byte_size(std::string_view text, std::string_view what) {
  const auto invalid = [&] {
    return ConfigError(fmt::format("invalid {} '{}': expected a size like 512M or 4G", what, text));
  };
  const auto too_large = [&] { return ConfigError(fmt::format("invalid {} '{}': too large", what, text)); };
  uint64_t number = 0;
  const char* const end = text.data() + text.size();
  const auto [rest, error] = std::from_chars(text.data(), end, number, 10);
  if (error == std::errc::result_out_of_range) throw too_large();
  if (error != std::errc() || rest == text.data()) throw invalid();
  unsigned shift = 20;  // a plain number is MiB, as for --memory (and QEMU's -m)
  if (rest != end) {
    if (rest + 1 != end) throw invalid();
    switch (*rest) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      case 'T': case 't': shift = 40; break;
      default: throw invalid();
    }
  }
  if (number == 0) throw ConfigError(fmt::format("invalid {} '{}': the size must not be zero", what, text));
  if (number > (std::numeric_limits<uint64_t>::max() >> shift)) throw too_large();
  return number << shift;
}

CappedPath parse_capped_path(std::string_view text, std::string_view flag) {
  constexpr std::string_view kMaxSize = "max-size=";
  const size_t comma = text.find(',');
  CappedPath result{.path = std::string(text.substr(0, comma)), .max_size = kDefaultOutputMaxSize};
  if (result.path.empty()) throw ConfigError(fmt::format("{} '{}': needs a path", flag, text));
  if (comma == std::string_view::npos) return result;
  const std::string_view option = text.substr(comma + 1);
  if (!option.starts_with(kMaxSize)) {
    const std::string_view key = option.substr(0, option.find('='));
    throw ConfigError(fmt::format("{} '{}': unknown option '{}' (expected max-size=SIZE; paths cannot contain commas)",
                                  flag, text, key));
  }
  const std::string_view value = option.substr(kMaxSize.size());
  if (value.find(',') != std::string_view::npos) {
    throw ConfigError(fmt::format("{} '{}': max-size=SIZE is the only option", flag, text));
  }
  result.max_size = parse_byte_size(value, fmt::format("{} max-size", flag));
  return result;
}

std::string format_byte_size(uint64_t bytes) {
  static constexpr std::pair<unsigned, const char*> kUnits[] = {{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
  for (const auto& [shift, name] : kUnits) {
    if (bytes != 0 && bytes % (uint64_t{1} << shift) == 0) return fmt::format("{} {}", bytes >> shift, name);
  }
  return fmt::format("{} bytes", bytes);
}

std::string truncation_note(std::string_view what, uint64_t max_size) {
  return fmt::format("[keel: {} truncated at {} bytes ({}, max-size); further output is dropped]\n", what, max_size,
                     format_byte_size(max_size));
}

}  // namespace keel::console
