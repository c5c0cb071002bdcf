#include "src/import_xml/memory_units.h"

#include <cctype>
#include <charconv>
#include <string>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::import_xml {
namespace {

constexpr std::string_view kAllowedUnits =
    "b, bytes, KiB, MiB, GiB, TiB, PiB, EiB (or k, M, G, ...), KB, MB, GB, TB, PB, EB";

uint64_t unit_scale(std::string_view unit) {
  if (unit.empty()) return 1024;  // libvirt: a <memory> without unit= is in KiB
  if (unit == "b" || unit == "B" || unit == "bytes" || unit == "byte") return 1;
  const char letter = static_cast<char>(std::tolower(static_cast<unsigned char>(unit.front())));
  constexpr std::string_view kLetters = "kmgtpe";
  const size_t power = kLetters.find(letter);
  std::string suffix(unit.substr(1));
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (power == std::string_view::npos || (suffix != "" && suffix != "ib" && suffix != "b")) {
    throw ConfigError(fmt::format("unit '{}' is not known (allowed: {})", unit, kAllowedUnits));
  }
  const uint64_t base = suffix == "b" ? 1000 : 1024;
  uint64_t scale = 1;
  for (size_t i = 0; i <= power; ++i) scale *= base;
  return scale;
}

}  // namespace

uint64_t parse_libvirt_size(std::string_view value, std::string_view unit) {
  const uint64_t scale = unit_scale(unit);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (value.empty() || error == std::errc::invalid_argument || end != value.data() + value.size()) {
    throw ConfigError(fmt::format("'{}' is not a number (expected decimal digits)", value));
  }
  if (error == std::errc::result_out_of_range || number > UINT64_MAX / scale) {
    throw ConfigError(fmt::format("{} {} does not fit in 64 bits of bytes", value, unit.empty() ? "KiB" : unit));
  }
  return number * scale;
}

std::string keel_memory_text(uint64_t bytes) {
  constexpr uint64_t kPage = 4096;
  if (bytes == 0) throw ConfigError("0 bytes: the guest needs some memory");
  if (bytes % kPage != 0) {
    throw ConfigError(fmt::format("{} bytes is not a whole number of 4 KiB pages (keel's guest memory is)", bytes));
  }
  if (bytes % (1ull << 30) == 0) return fmt::format("{}G", bytes >> 30);
  if (bytes % (1ull << 20) == 0) return fmt::format("{}M", bytes >> 20);
  return fmt::format("{}K", bytes >> 10);
}

}  // namespace keel::import_xml
