// Identity, features, config space, construction errors, broken rings.
#include <gtest/gtest.h>

#include "keel/config_error.h"
#include "tests/unit/virtio/net/net_fixture.h"
#include "virtio/net/net_header.h"

namespace keel::virtio::net::testing {
namespace {

class DeviceTest : public NetTest {};

std::unique_ptr<VirtioNet> make(keel::net::BackendCapabilities caps, NetOptions options = {kOwnMac, 1500}) {
  return std::make_unique<VirtioNet>(std::make_unique<FakeNetBackend>(caps), options);
}

TEST_F(DeviceTest, IdentityAndAttach) {
  EXPECT_EQ(net->device_type(), kDeviceTypeNet);
  EXPECT_EQ(net->queue_count(), 3);
  EXPECT_EQ(net->queue_max_size(), 256);
  EXPECT_EQ(backend->attach_calls, 1);
  EXPECT_EQ(backend->listener(), net.get());
}

TEST_F(DeviceTest, OffersBaseFeaturesAndNoOffloadsWithoutBackendSupport) {
  const uint64_t offered = net->device_features();
  for (uint64_t bit : {net::feature::kMac, net::feature::kStatus, net::feature::kMtu, net::feature::kMrgRxbuf,
                       net::feature::kCtrlVq, net::feature::kCtrlRx, net::feature::kCtrlMacAddr,
                       net::feature::kCtrlGuestOffloads}) {
    EXPECT_NE(offered & bit, 0u) << bit;
  }
  EXPECT_EQ(offered & (net::feature::kCsum | net::feature::kGuestCsum | net::feature::kHostTso4 |
                       net::feature::kGuestTso4 | net::feature::kMq | net::feature::kCtrlVlan),
            0u);
}

TEST_F(DeviceTest, OffloadsFollowTheBackendAndTheirDependencies) {
  auto full = make({.tx = {true, true, true, true, true}, .rx = {true, true, true, true, true}});
  const uint64_t all = net::feature::kCsum | net::feature::kHostTso4 | net::feature::kHostTso6 |
                       net::feature::kHostEcn | net::feature::kHostUfo | net::feature::kGuestCsum |
                       net::feature::kGuestTso4 | net::feature::kGuestTso6 | net::feature::kGuestEcn |
                       net::feature::kGuestUfo;
  EXPECT_EQ(full->device_features() & all, all);
  // TSO without checksum offload, ECN without TSO: not offered.
  auto partial = make({.tx = {.csum = false, .tso4 = true}, .rx = {.csum = true, .ecn = true}});
  EXPECT_EQ(partial->device_features() & all, net::feature::kGuestCsum);
}

TEST_F(DeviceTest, AcceptFeaturesEnforcesDependencies) {
  EXPECT_TRUE(net->accept_features(kBaseFeatures));
  EXPECT_TRUE(net->accept_features(virtio::feature::kVersion1));
  EXPECT_FALSE(net->accept_features(net::feature::kHostTso4));
  EXPECT_TRUE(net->accept_features(net::feature::kHostTso4 | net::feature::kCsum));
  EXPECT_FALSE(net->accept_features(net::feature::kGuestTso6));
  EXPECT_FALSE(net->accept_features(net::feature::kGuestUfo));
  EXPECT_FALSE(net->accept_features(net::feature::kGuestCsum | net::feature::kGuestEcn));
  EXPECT_FALSE(net->accept_features(net::feature::kCsum | net::feature::kHostEcn));
  EXPECT_TRUE(net->accept_features(net::feature::kCsum | net::feature::kHostUfo));
  EXPECT_FALSE(net->accept_features(net::feature::kHostUfo));
  EXPECT_FALSE(net->accept_features(net::feature::kCtrlRx));
  EXPECT_FALSE(net->accept_features(net::feature::kCtrlMacAddr));
  EXPECT_FALSE(net->accept_features(net::feature::kCtrlGuestOffloads));
  EXPECT_FALSE(net->accept_features(net::feature::kCtrlVq | net::feature::kCtrlRxExtra));
}

TEST_F(DeviceTest, ConfigSpace) {
  std::array<std::byte, 16> bytes;
  bytes.fill(std::byte{0xAA});
  net->config_read(0, bytes);
  EXPECT_EQ(std::memcmp(bytes.data(), kOwnMac.data(), 6), 0);
  EXPECT_EQ(std::to_integer<int>(bytes[6]), kStatusLinkUp);
  EXPECT_EQ(std::to_integer<int>(bytes[7]), 0);
  EXPECT_EQ(std::to_integer<int>(bytes[8]), 1);  // max_virtqueue_pairs
  EXPECT_EQ(std::to_integer<int>(bytes[10]) | std::to_integer<int>(bytes[11]) << 8, 1500);
  for (size_t i = 12; i < bytes.size(); ++i) EXPECT_EQ(std::to_integer<int>(bytes[i]), 0);
  // Unaligned and far-out reads; writes change nothing.
  std::array<std::byte, 2> mtu;
  net->config_read(config::kMtu, mtu);
  EXPECT_EQ(std::to_integer<int>(mtu[0]), 1500 & 0xFF);
  std::array<std::byte, 4> far;
  far.fill(std::byte{0xAA});
  net->config_read(0xFFFF'FFFE, far);
  for (std::byte b : far) EXPECT_EQ(std::to_integer<int>(b), 0);
  const std::array<std::byte, 6> zeros{};
  net->config_write(0, zeros);
  EXPECT_EQ(net->mac(), kOwnMac);
}

TEST_F(DeviceTest, BadOptionsAreConfigErrors) {
  EXPECT_THROW(make({}, NetOptions{kOwnMac, 67}), ConfigError);
  EXPECT_THROW(make({}, NetOptions{{0x01, 0, 0, 0, 0, 1}, 1500}), ConfigError);
  EXPECT_THROW(VirtioNet(nullptr, NetOptions{kOwnMac, 1500}), ConfigError);
  EXPECT_NO_THROW(make({}, NetOptions{kOwnMac, 65535}));
  try {
    make({}, NetOptions{kOwnMac, 10});
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "virtio-net: mtu 10 is outside 68..65535");
  }
}

TEST_F(DeviceTest, BrokenRingNeedsResetAndTheQueuesAreLeftAlone) {
  start();
  tx().set_avail_idx(static_cast<uint16_t>(kQueueSize + 1));  // more than the ring holds
  notify(kTxQueue);
  ASSERT_EQ(context.resets.size(), 1u);
  // Everything is ignored until reset: other queues, backend callbacks.
  post_rx({2048});
  backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  net->frames_waiting();
  EXPECT_FALSE(backend->interest);
  EXPECT_EQ(rx().used_idx(), 0);
  notify(kRxQueue);
  notify(kCtrlQueue);
  net->send_possible();
  EXPECT_EQ(context.queues[kRxQueue]->last_avail_idx(), 0);
  EXPECT_EQ(context.resets.size(), 1u);
  // Reset, then a new activation works again.
  device_reset();
  for (auto& queue : context.queues) queue.reset();
  std::memset(ram.host() + 0x1000, 0, 0x9000);
  start();
  post_rx({2048});
  notify(kRxQueue);
  backend->pump();
  EXPECT_EQ(rx().used_idx(), 1);
}

TEST_F(DeviceTest, BadRxRingNeedsReset) {
  start();
  rx().write_descriptor(0, {0xFFFF'FFFF'0000, 4096, ring::kDescFlagWrite, 0});  // outside RAM
  rx().publish(0);
  backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  backend->pump();
  EXPECT_EQ(context.resets.size(), 1u);
  // The buffer is popped before the frame is read (rx straight into guest
  // memory): the ring broke first, and the frame stays with the host.
  EXPECT_EQ(backend->inbox.size(), 1u);
  EXPECT_TRUE(ram.guards_intact());
}

TEST(NetHeaderTest, RxHeaderOnlyKeepsFlagsTheGuestUnderstands) {
  VnetHeader header{.flags = VnetHeader::kDataValid | 0x40};
  EXPECT_TRUE(fit_rx_header(header, keel::net::Offloads{.csum = true}, 100));
  EXPECT_EQ(header.flags, VnetHeader::kDataValid);
  VnetHeader ecn_only{.gso_type = VnetHeader::kGsoEcn};
  EXPECT_FALSE(fit_rx_header(ecn_only, keel::net::Offloads{.csum = true, .tso4 = true, .ecn = true}, 100));
  VnetHeader outside{.flags = VnetHeader::kNeedsCsum, .csum_start = 99, .csum_offset = 0};
  EXPECT_FALSE(fit_rx_header(outside, keel::net::Offloads{.csum = true}, 100));
}

}  // namespace
}  // namespace keel::virtio::net::testing
