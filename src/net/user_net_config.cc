// Parsing and checking `--net user,...` options (see user_net_config.h).
#include "src/net/user_net_config.h"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::net {
namespace {

constexpr std::string_view kAllowedKeys = "net, host, dns, dhcpstart, hostfwd, restrict";
constexpr int kMinPrefix = 8;
constexpr int kMaxPrefix = 30;  // a /31 or /32 has no room for host, dns and a lease

[[noreturn]] void reject(std::string_view key, std::string_view value, std::string_view why) {
  throw ConfigError(fmt::format("--net user: {}={}: {}", key, value, why));
}

std::optional<Ipv4> parse_ipv4(std::string_view text) {
  // inet_pton takes a C string and accepts only the dotted quad, which is
  // what we want (no "10.2", no hex, no leading zeros).
  if (text.empty() || text.size() > 15) return std::nullopt;
  const std::string copy(text);
  in_addr parsed{};
  if (inet_pton(AF_INET, copy.c_str(), &parsed) != 1) return std::nullopt;
  return ntohl(parsed.s_addr);
}

std::optional<uint32_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Ipv4 parse_address_value(std::string_view key, std::string_view value) {
  const auto address = parse_ipv4(value);
  if (!address) reject(key, value, "not an IPv4 address (allowed: a dotted quad such as 10.0.2.2)");
  return *address;
}

void parse_network(std::string_view value, UserNetConfig& config) {
  const size_t slash = value.find('/');
  if (slash == std::string_view::npos) {
    reject("net", value, "expected ADDRESS/PREFIX such as 10.0.2.0/24");
  }
  const auto address = parse_ipv4(value.substr(0, slash));
  if (!address) reject("net", value, "not an IPv4 network (allowed: ADDRESS/PREFIX such as 10.0.2.0/24)");
  const auto prefix = parse_decimal(value.substr(slash + 1));
  if (!prefix || *prefix < kMinPrefix || *prefix > kMaxPrefix) {
    reject("net", value, fmt::format("prefix must be {}..{}", kMinPrefix, kMaxPrefix));
  }
  UserNetConfig probe;
  probe.prefix = static_cast<int>(*prefix);
  if ((*address & ~probe.netmask()) != 0) {
    reject("net", value,
         fmt::format("the address has host bits set (the network is {}/{})",
                     format_ipv4(*address & probe.netmask()), *prefix));
  }
  config.network = *address;
  config.prefix = probe.prefix;
}

uint16_t parse_port(std::string_view spec, std::string_view which, std::string_view text) {
  const auto port = parse_decimal(text);
  if (!port || *port < 1 || *port > 65535) {
    reject("hostfwd", spec, fmt::format("{} port '{}' is not allowed (1..65535)", which, text));
  }
  return static_cast<uint16_t>(*port);
}

// [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, as QEMU (an empty
// protocol is tcp).
HostForward parse_host_forward(std::string_view spec) {
  HostForward forward;
  forward.spec = std::string(spec);
  const size_t first_colon = spec.find(':');
  if (first_colon == std::string_view::npos) {
    reject("hostfwd", spec, "expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT");
  }
  const std::string_view protocol = spec.substr(0, first_colon);
  if (protocol == "tcp" || protocol.empty()) {
    forward.protocol = HostForward::Protocol::tcp;
  } else if (protocol == "udp") {
    forward.protocol = HostForward::Protocol::udp;
  } else {
    reject("hostfwd", spec, fmt::format("protocol '{}' is not allowed (tcp or udp)", protocol));
  }
  const std::string_view rest = spec.substr(first_colon + 1);
  const size_t dash = rest.find('-');
  if (dash == std::string_view::npos || rest.find('-', dash + 1) != std::string_view::npos) {
    reject("hostfwd", spec, "expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT");
  }
  const std::string_view host_side = rest.substr(0, dash);
  const std::string_view guest_side = rest.substr(dash + 1);
  const size_t host_colon = host_side.rfind(':');
  const size_t guest_colon = guest_side.rfind(':');
  if (host_colon == std::string_view::npos || guest_colon == std::string_view::npos) {
    reject("hostfwd", spec, "expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT");
  }
  const std::string_view host_address = host_side.substr(0, host_colon);
  const std::string_view guest_address = guest_side.substr(0, guest_colon);
  if (!host_address.empty()) {
    const auto parsed = parse_ipv4(host_address);
    if (!parsed) reject("hostfwd", spec, fmt::format("host address '{}' is not an IPv4 address", host_address));
    forward.host_address = *parsed;
  }
  forward.host_port = parse_port(spec, "host", host_side.substr(host_colon + 1));
  if (!guest_address.empty()) {
    const auto parsed = parse_ipv4(guest_address);
    if (!parsed) reject("hostfwd", spec, fmt::format("guest address '{}' is not an IPv4 address", guest_address));
    forward.guest_address = *parsed;
  }
  forward.guest_port = parse_port(spec, "guest", guest_side.substr(guest_colon + 1));
  return forward;
}

// A usable host address in the network: inside, not the network address,
// not the broadcast address.
bool usable_in(const UserNetConfig& config, Ipv4 address) {
  const Ipv4 mask = config.netmask();
  return (address & mask) == config.network && address != config.network &&
         address != (config.network | ~mask);
}

std::string network_text(const UserNetConfig& config) {
  return fmt::format("net={}/{}", format_ipv4(config.network), config.prefix);
}

void check_usable(const UserNetConfig& config, std::string_view key, Ipv4 address, bool defaulted) {
  if (usable_in(config, address)) return;
  throw ConfigError(fmt::format(
      "--net user: {}={}{} is not a host address inside {} (set {}= to one that is)", key,
      format_ipv4(address), defaulted ? " (the default)" : "", network_text(config), key));
}

}  // namespace

std::string format_ipv4(Ipv4 address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff,
                     address & 0xff);
}

void parse_user_net_option(std::string_view key, std::string_view value, UserNetConfig& config) {
  if (key == "net") {
    parse_network(value, config);
  } else if (key == "host") {
    config.host = parse_address_value(key, value);
  } else if (key == "dns") {
    config.dns = parse_address_value(key, value);
  } else if (key == "dhcpstart") {
    config.dhcp_start = parse_address_value(key, value);
  } else if (key == "hostfwd") {
    HostForward forward = parse_host_forward(value);
    for (const HostForward& other : config.host_forwards) {
      if (other.protocol == forward.protocol && other.host_port == forward.host_port &&
          (other.host_address == forward.host_address || other.host_address == 0 ||
           forward.host_address == 0)) {
        reject(key, value, fmt::format("host port {} is already forwarded by hostfwd={}",
                                     forward.host_port, other.spec));
      }
    }
    config.host_forwards.push_back(std::move(forward));
  } else if (key == "restrict") {
    if (value == "on") {
      config.restricted = true;
    } else if (value == "off") {
      config.restricted = false;
    } else {
      reject(key, value, "allowed: on or off");
    }
  } else {
    throw ConfigError(fmt::format("--net user: unknown option '{}' (allowed: {})", key, kAllowedKeys));
  }
}

void finish_user_net_config(UserNetConfig& config) {
  const bool host_defaulted = !config.host;
  const bool dns_defaulted = !config.dns;
  const bool dhcp_defaulted = !config.dhcp_start;
  if (!config.host) config.host = config.network + 2;
  if (!config.dns) config.dns = config.network + 3;
  if (!config.dhcp_start) config.dhcp_start = config.network + 15;
  check_usable(config, "host", *config.host, host_defaulted);
  check_usable(config, "dns", *config.dns, dns_defaulted);
  check_usable(config, "dhcpstart", *config.dhcp_start, dhcp_defaulted);
  if (*config.host == *config.dns || *config.host == *config.dhcp_start ||
      *config.dns == *config.dhcp_start) {
    throw ConfigError(fmt::format(
        "--net user: host={}, dns={} and dhcpstart={} must be three different addresses",
        format_ipv4(*config.host), format_ipv4(*config.dns), format_ipv4(*config.dhcp_start)));
  }
  for (HostForward& forward : config.host_forwards) {
    if (!forward.guest_address) forward.guest_address = *config.dhcp_start;
    if (!usable_in(config, *forward.guest_address)) {
      throw ConfigError(fmt::format("--net user: hostfwd={}: guest address {} is not inside {}",
                                    forward.spec, format_ipv4(*forward.guest_address),
                                    network_text(config)));
    }
  }
}

}  // namespace keel::net
