#include "src/ctl/key_combos.h"

#include <charconv>

#include <fmt/format.h>

namespace keel::ctl {
namespace {

[[noreturn]] void bad_key(std::string_view text, std::string_view key, std::string_view why) {
  throw CtlFailure(kExitUsage, fmt::format("invalid send-key '{}': {} '{}' (expected QEMU key names such as a, ret, "
                                           "ctrl-alt-delete or 0x1c, combos separated by commas)",
                                           text, why, key));
}

Json parse_key(std::string_view text, std::string_view key) {
  if (key.starts_with("0x")) {
    const std::string_view digits = key.substr(2);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
    if (digits.empty() || digits.size() > 4 || error != std::errc() || end != digits.data() + digits.size() ||
        value == 0) {
      bad_key(text, key, "bad scancode");
    }
    return Json{{"type", "number"}, {"data", value}};
  }
  bool well_formed = !key.empty();
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) well_formed = false;
  }
  if (!well_formed) bad_key(text, key, "bad key");
  return Json{{"type", "qcode"}, {"data", key}};
}

}  // namespace

std::vector<Json> parse_key_combos(std::string_view text) {
  std::vector<Json> combos;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string_view combo = text.substr(start, comma == text.npos ? text.npos : comma - start);
    Json keys = Json::array();
    size_t key_start = 0;
    for (;;) {
      const size_t dash = combo.find('-', key_start);
      keys.push_back(parse_key(text, combo.substr(key_start, dash == combo.npos ? combo.npos : dash - key_start)));
      if (keys.size() > kMaxKeysPerCombo) bad_key(text, combo, fmt::format("more than {} keys in", kMaxKeysPerCombo));
      if (dash == combo.npos) break;
      key_start = dash + 1;
    }
    combos.push_back(std::move(keys));
    if (combos.size() > kMaxCombos) {
      throw CtlFailure(kExitUsage, fmt::format("invalid send-key: more than {} key combos", kMaxCombos));
    }
    if (comma == text.npos) break;
    start = comma + 1;
  }
  return combos;
}

}  // namespace keel::ctl
