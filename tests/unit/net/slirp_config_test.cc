// `--net user,...` options: parse_user_net_option / finish_user_net_config.
#include <gtest/gtest.h>

#include <string>

#include "keel/config_error.h"
#include "src/net/user_net_config.h"

namespace keel::net {
namespace {

constexpr Ipv4 ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// The message of the ConfigError that parsing `key=value` (then finishing)
// throws; fails the test when none is thrown.
std::string error_of(std::string_view key, std::string_view value, UserNetConfig config = {}) {
  try {
    parse_user_net_option(key, value, config);
    finish_user_net_config(config);
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << key << "=" << value << " was accepted";
  return {};
}

void expect_error(std::string_view key, std::string_view value, std::string_view names,
                  std::string_view allowed) {
  const std::string message = error_of(key, value);
  EXPECT_NE(message.find(names), std::string::npos) << message;
  EXPECT_NE(message.find(allowed), std::string::npos) << message;
}

TEST(SlirpConfig, DefaultsAreQemus) {
  UserNetConfig config;
  finish_user_net_config(config);
  EXPECT_EQ(config.network, ip(10, 0, 2, 0));
  EXPECT_EQ(config.prefix, 24);
  EXPECT_EQ(config.netmask(), ip(255, 255, 255, 0));
  EXPECT_EQ(*config.host, ip(10, 0, 2, 2));
  EXPECT_EQ(*config.dns, ip(10, 0, 2, 3));
  EXPECT_EQ(*config.dhcp_start, ip(10, 0, 2, 15));
  EXPECT_FALSE(config.restricted);
  EXPECT_TRUE(config.host_forwards.empty());
}

TEST(SlirpConfig, NetMayComeAfterHostfwd) {
  UserNetConfig config;
  parse_user_net_option("hostfwd", "tcp::2222-:22", config);
  parse_user_net_option("hostfwd", "udp:127.0.0.1:5555-192.168.7.20:7", config);
  parse_user_net_option("net", "192.168.7.0/24", config);
  parse_user_net_option("restrict", "on", config);
  finish_user_net_config(config);
  finish_user_net_config(config);  // idempotent
  EXPECT_EQ(*config.host, ip(192, 168, 7, 2));
  EXPECT_EQ(*config.dns, ip(192, 168, 7, 3));
  EXPECT_EQ(*config.dhcp_start, ip(192, 168, 7, 15));
  EXPECT_TRUE(config.restricted);
  ASSERT_EQ(config.host_forwards.size(), 2u);
  const HostForward& ssh = config.host_forwards[0];
  EXPECT_EQ(ssh.protocol, HostForward::Protocol::tcp);
  EXPECT_EQ(ssh.host_address, 0u);  // every host interface, as QEMU
  EXPECT_EQ(ssh.host_port, 2222);
  EXPECT_EQ(*ssh.guest_address, ip(192, 168, 7, 15));  // the first lease
  EXPECT_EQ(ssh.guest_port, 22);
  const HostForward& echo = config.host_forwards[1];
  EXPECT_EQ(echo.protocol, HostForward::Protocol::udp);
  EXPECT_EQ(echo.host_address, ip(127, 0, 0, 1));
  EXPECT_EQ(echo.host_port, 5555);
  EXPECT_EQ(*echo.guest_address, ip(192, 168, 7, 20));
  EXPECT_EQ(echo.guest_port, 7);
}

TEST(SlirpConfig, ExplicitAddressesAndEmptyProtocol) {
  UserNetConfig config;
  parse_user_net_option("net", "10.8.0.0/16", config);
  parse_user_net_option("host", "10.8.0.1", config);
  parse_user_net_option("dns", "10.8.0.53", config);
  parse_user_net_option("dhcpstart", "10.8.1.100", config);
  parse_user_net_option("hostfwd", ":10.0.0.1:8080-:80", config);
  parse_user_net_option("restrict", "off", config);
  finish_user_net_config(config);
  EXPECT_EQ(*config.host, ip(10, 8, 0, 1));
  EXPECT_EQ(*config.dns, ip(10, 8, 0, 53));
  EXPECT_EQ(*config.dhcp_start, ip(10, 8, 1, 100));
  EXPECT_EQ(config.host_forwards[0].protocol, HostForward::Protocol::tcp);
  EXPECT_EQ(*config.host_forwards[0].guest_address, ip(10, 8, 1, 100));
  EXPECT_EQ(format_ipv4(ip(10, 8, 1, 100)), "10.8.1.100");
}

TEST(SlirpConfig, BadNetworks) {
  expect_error("net", "10.0.2.0", "10.0.2.0", "ADDRESS/PREFIX");
  expect_error("net", "10.0.2.0/33", "10.0.2.0/33", "8..30");
  expect_error("net", "10.0.2.0/7", "10.0.2.0/7", "8..30");
  expect_error("net", "10.0.2.0/31", "10.0.2.0/31", "8..30");
  expect_error("net", "10.0.2.0/", "10.0.2.0/", "8..30");
  expect_error("net", "10.0.2.0/2x", "10.0.2.0/2x", "8..30");
  expect_error("net", "10.0.2/24", "10.0.2/24", "ADDRESS/PREFIX");
  expect_error("net", "10.0.2.1/24", "10.0.2.1/24", "10.0.2.0/24");  // suggests the aligned one
}

TEST(SlirpConfig, BadAddresses) {
  expect_error("host", "10.0.2", "host=10.0.2", "dotted quad");
  expect_error("dns", "ten", "dns=ten", "dotted quad");
  expect_error("dhcpstart", "10.0.2.256", "dhcpstart=10.0.2.256", "dotted quad");
  expect_error("host", "10.0.3.2", "host=10.0.3.2", "inside net=10.0.2.0/24");
  expect_error("dns", "10.0.2.255", "dns=10.0.2.255", "inside net=10.0.2.0/24");    // broadcast
  expect_error("dhcpstart", "10.0.2.0", "dhcpstart=10.0.2.0", "inside net=10.0.2.0/24");  // network
  expect_error("dns", "10.0.2.2", "10.0.2.2", "three different addresses");
  expect_error("dhcpstart", "10.0.2.3", "10.0.2.3", "three different addresses");
  // A default that does not fit a small network is named as such.
  expect_error("net", "10.0.2.0/29", "dhcpstart=10.0.2.15 (the default)", "inside net=10.0.2.0/29");
}

TEST(SlirpConfig, BadHostForwards) {
  expect_error("hostfwd", "sctp::1-:2", "sctp::1-:2", "tcp or udp");
  expect_error("hostfwd", "tcp", "hostfwd=tcp", "GUESTPORT");
  expect_error("hostfwd", "tcp::2222:22", "tcp::2222:22", "GUESTPORT");
  expect_error("hostfwd", "tcp::2222-22", "tcp::2222-22", "GUESTPORT");
  expect_error("hostfwd", "tcp::1-2-:3", "tcp::1-2-:3", "GUESTPORT");
  expect_error("hostfwd", "tcp::0-:22", "tcp::0-:22", "1..65535");
  expect_error("hostfwd", "tcp::65536-:22", "'65536'", "1..65535");
  expect_error("hostfwd", "tcp::2222-:0", "guest port '0'", "1..65535");
  expect_error("hostfwd", "tcp::-1-:22", "tcp::-1-:22", "");
  expect_error("hostfwd", "tcp::+22-:22", "'+22'", "1..65535");
  expect_error("hostfwd", "tcp::-:22", "host port ''", "1..65535");
  expect_error("hostfwd", "tcp:localhost:2222-:22", "'localhost'", "IPv4");
  expect_error("hostfwd", "tcp::2222-10.0.2:22", "'10.0.2'", "IPv4");
  expect_error("hostfwd", "tcp::2222-10.0.3.15:22", "guest address 10.0.3.15", "inside net=10.0.2.0/24");
}

TEST(SlirpConfig, DuplicateHostPortRefused) {
  UserNetConfig config;
  parse_user_net_option("hostfwd", "tcp::2222-:22", config);
  parse_user_net_option("hostfwd", "udp::2222-:22", config);  // other protocol: fine
  const std::string message = error_of("hostfwd", "tcp:127.0.0.1:2222-:23", config);
  EXPECT_NE(message.find("already forwarded"), std::string::npos) << message;
  EXPECT_NE(message.find("tcp::2222-:22"), std::string::npos) << message;
}

TEST(SlirpConfig, BadRestrictAndUnknownKey) {
  expect_error("restrict", "yes", "restrict=yes", "on or off");
  expect_error("restrict", "", "restrict=", "on or off");
  expect_error("smb", "/tmp", "'smb'", "hostfwd");
}

}  // namespace
}  // namespace keel::net
