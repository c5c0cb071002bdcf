#include "src/net/net_spec.h"

#include <set>

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/net/tap_backend.h"

namespace keel::net {
namespace {

constexpr std::string_view kUsage =
    "expected tap=NAME or user first, then model=, mac=, pcap= (user: hostfwd=, net=, ...)";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

NicModel parse_model(std::string_view value) {
  if (value == "virtio") return NicModel::virtio;
  if (value == "e1000") return NicModel::e1000;
  throw ConfigError(fmt::format("--net: model={} is not known (use virtio or e1000)", value));
}

// Splits "a,b=c,..." into items; an empty item (",,", a trailing ',') is an
// error since it is always a typo.
std::vector<std::string_view> split_items(std::string_view text) {
  std::vector<std::string_view> items;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) throw ConfigError(fmt::format("--net {}: empty item (stray comma)", text));
    items.push_back(item);
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

}  // namespace

MacAddress parse_mac(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return ConfigError(fmt::format("--net: mac={} is not valid: {}", text, why));
  };
  if (text.size() != 17) throw invalid("expected six hex bytes like 02:00:00:00:00:01");
  MacAddress mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    const int high = hex_digit(text[i * 3]);
    const int low = hex_digit(text[i * 3 + 1]);
    if (high < 0 || low < 0) throw invalid("expected six hex bytes like 02:00:00:00:00:01");
    if (i + 1 < mac.size() && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') {
      throw invalid("bytes are separated by ':'");
    }
    mac[i] = static_cast<uint8_t>(high << 4 | low);
  }
  if (mac == MacAddress{}) throw invalid("the all-zero address cannot be a NIC's");
  if ((mac[0] & 1) != 0) {
    throw invalid("it is a multicast address (the first byte is odd); use an even first byte, e.g. 02:...");
  }
  return mac;
}

std::string format_mac(const MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

MacAddress default_mac(size_t nic_index) {
  return MacAddress{0x02, 0x6b, 0x65, 0x65, static_cast<uint8_t>(nic_index >> 8), static_cast<uint8_t>(nic_index)};
}

std::vector<MacAddress> nic_macs(const std::vector<NetSpec>& nics) {
  if (nics.size() > 0x10000) throw ConfigError(fmt::format("--net given {} times, at most 65536", nics.size()));
  std::vector<MacAddress> macs;
  for (size_t index = 0; index < nics.size(); ++index) {
    const MacAddress mac = nics[index].mac.value_or(default_mac(index));
    for (size_t other = 0; other < macs.size(); ++other) {
      if (macs[other] == mac) {
        throw ConfigError(fmt::format("--net: NICs {} and {} would both have MAC {}; give one another mac=",
                                      other + 1, index + 1, format_mac(mac)));
      }
    }
    macs.push_back(mac);
  }
  return macs;
}

NetSpec parse_net_spec(std::string_view text) {
  if (text.empty()) throw ConfigError(fmt::format("--net: empty ({})", kUsage));
  const std::vector<std::string_view> items = split_items(text);
  NetSpec spec;
  const std::string_view first = items.front();
  if (first == "user") {
    spec.backend = NetBackendKind::user;
  } else if (first.starts_with("tap=")) {
    spec.backend = NetBackendKind::tap;
    spec.tap_name = first.substr(4);
    if (spec.tap_name.empty()) throw ConfigError("--net tap=: the tap name is empty (expected tap=NAME)");
    check_interface_name(spec.tap_name);
  } else {
    throw ConfigError(fmt::format("--net {}: '{}' is not a backend ({})", text, first, kUsage));
  }

  std::set<std::string, std::less<>> seen;
  for (size_t i = 1; i < items.size(); ++i) {
    const std::string_view item = items[i];
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      throw ConfigError(fmt::format("--net {}: '{}' is not key=value ({})", text, item, kUsage));
    }
    const std::string_view key = item.substr(0, equals);
    const std::string_view value = item.substr(equals + 1);
    if (key == "tap" || key == "user") {
      throw ConfigError(fmt::format("--net {}: only one backend per --net ('{}' is a second)", text, item));
    }
    if (key != "hostfwd" && !seen.emplace(key).second) {
      throw ConfigError(fmt::format("--net {}: {}= given twice", text, key));
    }
    if (key == "model") {
      spec.model = parse_model(value);
    } else if (key == "mac") {
      spec.mac = parse_mac(value);
    } else if (key == "pcap") {
      if (value.empty()) throw ConfigError("--net: pcap= is empty (expected pcap=FILE)");
      spec.pcap = std::filesystem::path(value);
    } else if (spec.backend == NetBackendKind::user) {
      parse_user_net_option(key, value, spec.user);
    } else {
      throw ConfigError(fmt::format("--net {}: unknown key '{}' for a tap (known: model, mac, pcap; hostfwd, net "
                                    "and the like are for --net user)",
                                    text, key));
    }
  }
  if (spec.backend == NetBackendKind::user) finish_user_net_config(spec.user);
  return spec;
}

}  // namespace keel::net
