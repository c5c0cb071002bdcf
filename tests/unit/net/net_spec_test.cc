#include "src/net/net_spec.h"

#include <gtest/gtest.h>

#include <string>

#include "keel/config_error.h"

namespace keel::net {
namespace {

// The message of the ConfigError that parsing `text` throws (and checks it
// is one line that names `must_name`).
std::string error_of(std::string_view text, std::string_view must_name) {
  try {
    parse_net_spec(text);
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(must_name), std::string::npos) << "'" << message << "' does not name " << must_name;
    return message;
  }
  ADD_FAILURE() << "'" << text << "' was accepted";
  return {};
}

TEST(NetSpec, TapWithDefaults) {
  const NetSpec spec = parse_net_spec("tap=tap0");
  EXPECT_EQ(spec.backend, NetBackendKind::tap);
  EXPECT_EQ(spec.tap_name, "tap0");
  EXPECT_EQ(spec.model, NicModel::virtio);
  EXPECT_FALSE(spec.mac.has_value());
  EXPECT_FALSE(spec.pcap.has_value());
}

TEST(NetSpec, TapWithEveryKey) {
  const NetSpec spec = parse_net_spec("tap=kt1,pcap=/tmp/x.pcap,model=e1000,mac=02:AB:cd:00:00:7f");
  EXPECT_EQ(spec.tap_name, "kt1");
  EXPECT_EQ(spec.model, NicModel::e1000);
  ASSERT_TRUE(spec.mac.has_value());
  EXPECT_EQ(*spec.mac, (MacAddress{0x02, 0xab, 0xcd, 0x00, 0x00, 0x7f}));
  EXPECT_EQ(spec.pcap->string(), "/tmp/x.pcap");
}

TEST(NetSpec, UserWithForwardsAndNetwork) {
  const NetSpec spec = parse_net_spec("user,hostfwd=tcp::2222-:22,net=10.9.0.0/24,hostfwd=udp::7777-:7,model=virtio");
  EXPECT_EQ(spec.backend, NetBackendKind::user);
  EXPECT_EQ(spec.user.network, 0x0a090000u);
  EXPECT_EQ(spec.user.prefix, 24);
  ASSERT_EQ(spec.user.host_forwards.size(), 2u);
  EXPECT_EQ(spec.user.host_forwards[0].host_port, 2222);
  EXPECT_EQ(spec.user.host_forwards[1].protocol, HostForward::Protocol::udp);
  // finish_user_net_config ran: the defaults follow net=.
  ASSERT_TRUE(spec.user.host.has_value());
  EXPECT_EQ(*spec.user.host, 0x0a090002u);
}

TEST(NetSpec, PlainUser) {
  const NetSpec spec = parse_net_spec("user");
  EXPECT_EQ(spec.backend, NetBackendKind::user);
  EXPECT_TRUE(spec.user.host_forwards.empty());
}

TEST(NetSpec, BadInputsNameTheBadValue) {
  error_of("", "tap=NAME");
  error_of("tap=", "tap name is empty");
  error_of("bridge=br0", "bridge=br0");
  error_of("model=virtio,tap=tap0", "model=virtio");
  error_of("tap=tap0,speed=10", "speed");
  error_of("tap=tap0,model=rtl8139", "rtl8139");
  error_of("tap=tap0,model=virtio,model=e1000", "model= given twice");
  error_of("tap=tap0,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02", "mac= given twice");
  error_of("tap=tap0,pcap=a,pcap=b", "pcap= given twice");
  error_of("tap=tap0,pcap=", "pcap= is empty");
  error_of("tap=tap0,,model=virtio", "stray comma");
  error_of("tap=tap0,", "stray comma");
  error_of("tap=tap0,model", "'model'");
  error_of("tap=tap0,user", "'user'");
  error_of("tap=tap0,tap=tap1", "tap=tap1");
  error_of("tap=tap0,hostfwd=tcp::1-:2", "hostfwd");
  error_of("tap=abcdefghijklmnopq", "abcdefghijklmnopq");
  error_of("tap=a/b", "a/b");
  error_of("tap=..", "..");
  error_of("user,net=10.0.2.0/33", "10.0.2.0/33");  // the slirp helper's parser, reached through ours
  error_of("user,frobnicate=1", "frobnicate");
}

TEST(NetSpec, BadMacs) {
  error_of("tap=t,mac=01:00:5e:00:00:01", "01:00:5e:00:00:01");  // multicast
  error_of("tap=t,mac=03:00:00:00:00:01", "multicast");
  error_of("tap=t,mac=00:00:00:00:00:00", "all-zero");
  error_of("tap=t,mac=02:00:00:00:00", "02:00:00:00:00");
  error_of("tap=t,mac=02:00:00:00:00:0g", "02:00:00:00:00:0g");
  error_of("tap=t,mac=02.00.00.00.00.01", "02.00.00.00.00.01");
  error_of("tap=t,mac=02:00:00:00:00:001", "02:00:00:00:00:001");
  EXPECT_EQ(parse_mac("02-00-00-00-00-01"), (MacAddress{2, 0, 0, 0, 0, 1}));
}

TEST(NetSpec, DefaultMacsAreLocallyAdministeredUnicastAndStable) {
  for (size_t index : {0u, 1u, 255u, 256u, 65535u}) {
    const MacAddress mac = default_mac(index);
    EXPECT_EQ(mac[0] & 0x02, 0x02) << "locally administered";
    EXPECT_EQ(mac[0] & 0x01, 0x00) << "unicast";
    EXPECT_EQ((size_t{mac[4]} << 8) | mac[5], index);
  }
  EXPECT_EQ(format_mac(default_mac(0)), "02:6b:65:65:00:00");
  EXPECT_EQ(format_mac(default_mac(1)), "02:6b:65:65:00:01");
  EXPECT_NE(default_mac(1), default_mac(257));
}

TEST(NetSpec, NicMacsFillDefaultsAndRefuseDuplicates) {
  std::vector<NetSpec> nics{parse_net_spec("tap=a"), parse_net_spec("user,mac=02:00:00:00:00:09"),
                            parse_net_spec("tap=b")};
  const std::vector<MacAddress> macs = nic_macs(nics);
  ASSERT_EQ(macs.size(), 3u);
  EXPECT_EQ(macs[0], default_mac(0));
  EXPECT_EQ(format_mac(macs[1]), "02:00:00:00:00:09");
  EXPECT_EQ(macs[2], default_mac(2));

  nics[1].mac = default_mac(2);  // collides with NIC 3's default
  try {
    nic_macs(nics);
    ADD_FAILURE() << "duplicate MAC accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("02:6b:65:65:00:02"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("NICs 2 and 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace keel::net
