// The --net option (repeatable, one NIC each), QEMU-like:
//   --net tap=NAME[,model=virtio|e1000][,mac=XX:XX:XX:XX:XX:XX][,pcap=FILE]
//   --net user[,model=..][,mac=..][,pcap=FILE][,hostfwd=..][,net=..][,...]
// The backend comes first; the other keys in any order, each at most once
// (hostfwd= may repeat). Values cannot contain commas. The user-mode keys
// (hostfwd, net, host, dns, dhcpstart, restrict) are parsed by
// user_net_config.h.
//
// MACs: without mac= the NIC with index i (0-based, in --net order) gets
// 02:6b:65:65:HH:LL with HHLL = i: locally administered (bit 1 of the first
// byte), unicast, the same on every run, and "kee" in the middle bytes.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/net/user_net_config.h"

namespace keel::net {

using MacAddress = std::array<uint8_t, 6>;

enum class NetBackendKind { tap, user };
enum class NicModel { virtio, e1000 };

struct NetSpec {
  NetBackendKind backend = NetBackendKind::tap;
  std::string tap_name;                      // tap only
  NicModel model = NicModel::virtio;
  std::optional<MacAddress> mac;             // nullopt: default_mac(index)
  std::optional<std::filesystem::path> pcap;
  UserNetConfig user;                        // user only; finished by the parser
};

// Throws keel::ConfigError with a one-line message naming the bad part.
NetSpec parse_net_spec(std::string_view text);

// "52:54:00:12:34:56" (colons or dashes, hex, either case). Refuses
// multicast (bit 0 of the first byte) and all-zero addresses. Throws
// keel::ConfigError naming `text`.
MacAddress parse_mac(std::string_view text);
std::string format_mac(const MacAddress& mac);

// The default MAC of the NIC with this index (see above); index < 65536.
MacAddress default_mac(size_t nic_index);

// Each NIC's MAC (given or default), in order. Throws keel::ConfigError when
// two NICs would share one, or there are more NICs than default MACs.
std::vector<MacAddress> nic_macs(const std::vector<NetSpec>& nics);

}  // namespace keel::net
