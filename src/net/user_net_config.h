// Configuration of user-mode networking (`--net user,...`, libslirp), with
// QEMU's `-netdev user` option names and defaults.
//
// Order rule: options may come in any order. parse_user_net_option() checks
// each value on its own (syntax, ranges, prefix, alignment);
// finish_user_net_config() runs once all are parsed, derives the defaults
// from `net=` (host .2, dns .3, dhcpstart .15, a hostfwd's guest address =
// dhcpstart) and checks what needs the final network (every address inside
// it, host/dns/dhcpstart distinct). So `net=` may come after `hostfwd=`.
// Both throw keel::ConfigError with a one-line message naming the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::net {

// An IPv4 address in host byte order (10.0.2.15 is 0x0a00020f).
using Ipv4 = uint32_t;

std::string format_ipv4(Ipv4 address);

struct HostForward {
  enum class Protocol { tcp, udp };
  Protocol protocol = Protocol::tcp;
  // Empty HOSTADDR means every host interface (0.0.0.0), as QEMU: the
  // forward is reachable from the host's network, not only from this
  // host. Write hostfwd=tcp:127.0.0.1:2222-:22 to keep it local.
  Ipv4 host_address = 0;
  uint16_t host_port = 0;  // 1..65535
  // Empty GUESTADDR: the first DHCP address (filled by finish).
  std::optional<Ipv4> guest_address;
  uint16_t guest_port = 0;  // 1..65535
  std::string spec;         // as the user wrote it, for messages
};

struct UserNetConfig {
  Ipv4 network = 0x0a000200;  // 10.0.2.0
  int prefix = 24;
  // Unset until finish_user_net_config() derives them from the network.
  std::optional<Ipv4> host;        // gateway, DHCP and DNS server: .2
  std::optional<Ipv4> dns;         // DNS forwarder: .3
  std::optional<Ipv4> dhcp_start;  // first of 16 DHCP leases: .15
  // restrict=on: the guest reaches only the host forwards, DHCP and DNS
  // (slirp's "restricted" mode), nothing outside.
  bool restricted = false;
  std::vector<HostForward> host_forwards;

  Ipv4 netmask() const noexcept { return prefix == 0 ? 0 : ~Ipv4{0} << (32 - prefix); }
};

// One `key=value` of `--net user,...`: net, host, dns, dhcpstart, hostfwd
// (repeatable), restrict. Throws keel::ConfigError for an unknown key or a
// bad value.
void parse_user_net_option(std::string_view key, std::string_view value, UserNetConfig& config);

// Derive defaults and check the whole; idempotent. Throws keel::ConfigError.
void finish_user_net_config(UserNetConfig& config);

}  // namespace keel::net
