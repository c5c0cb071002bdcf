#include "virtio/blk/disk_spec.h"

#include <fmt/format.h>

#include <set>

#include "keel/config_error.h"
#include "virtio/blk/blk_spec.h"

namespace keel::virtio::blk {
namespace {

bool parse_on_off(std::string_view key, std::string_view value) {
  if (value == "on") return true;
  if (value == "off") return false;
  throw ConfigError(fmt::format("--disk: {}={} is not valid (use on or off)", key, value));
}

}  // namespace

DiskSpec parse_disk_spec(std::string_view text) {
  if (text.empty()) throw ConfigError("--disk: path=IMG is missing");
  DiskSpec spec;
  std::set<std::string, std::less<>> seen;
  bool have_path = false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    start = comma + 1;

    size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      throw ConfigError(fmt::format(
          "--disk: '{}' is not key=value (expected path=IMG[,readonly=on|off][,direct=on|off][,serial=STR];"
          " values cannot contain commas)",
          item));
    }
    std::string_view key = item.substr(0, equals);
    std::string_view value = item.substr(equals + 1);
    if (!seen.emplace(key).second) throw ConfigError(fmt::format("--disk: {}= given twice", key));

    if (key == "path") {
      if (value.empty()) throw ConfigError("--disk: path= is empty");
      spec.path = value;
      have_path = true;
    } else if (key == "readonly") {
      spec.readonly = parse_on_off(key, value);
    } else if (key == "direct") {
      spec.direct = parse_on_off(key, value);
    } else if (key == "serial") {
      if (value.size() > kIdBytes) {
        throw ConfigError(fmt::format("--disk: serial '{}' is {} bytes, at most {} allowed", value, value.size(),
                                      kIdBytes));
      }
      spec.serial = value;
    } else {
      throw ConfigError(
          fmt::format("--disk: unknown key '{}' (known: path, readonly, direct, serial)", key));
    }
  }
  if (!have_path) throw ConfigError("--disk: path=IMG is missing");
  return spec;
}

}  // namespace keel::virtio::blk
