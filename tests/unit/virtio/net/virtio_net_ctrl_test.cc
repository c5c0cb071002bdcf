// Control queue commands and the receive filter they configure.
#include <gtest/gtest.h>

#include "tests/unit/virtio/net/net_fixture.h"

namespace keel::virtio::net::testing {
namespace {

Frame bytes_of(std::initializer_list<uint8_t> values) {
  Frame out;
  for (uint8_t v : values) out.push_back(std::byte{v});
  return out;
}
Frame u32(uint32_t value) {
  Frame out(4);
  std::memcpy(out.data(), &value, 4);
  return out;
}
Frame u64(uint64_t value) {
  Frame out(8);
  std::memcpy(out.data(), &value, 8);
  return out;
}
Frame mac_bytes(const std::array<uint8_t, 6>& mac) { return Frame(reinterpret_cast<const std::byte*>(mac.data()), reinterpret_cast<const std::byte*>(mac.data()) + 6); }
Frame concat(std::initializer_list<Frame> parts) {
  Frame out;
  for (const Frame& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

constexpr std::array<uint8_t, 6> kOtherUnicast{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
constexpr std::array<uint8_t, 6> kTableUnicast{0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE};
constexpr std::array<uint8_t, 6> kMulticast{0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB};
constexpr std::array<uint8_t, 6> kOtherMulticast{0x33, 0x33, 0x00, 0x00, 0x00, 0x01};

class CtrlTest : public NetTest {
 protected:
  uint8_t rx_mode(uint8_t code, bool on) { return command(ctrl::kClassRx, code, bytes_of({on ? uint8_t{1} : uint8_t{0}})); }
  uint8_t mac_table(const std::vector<std::array<uint8_t, 6>>& unicast,
                    const std::vector<std::array<uint8_t, 6>>& multicast) {
    Frame data = u32(static_cast<uint32_t>(unicast.size()));
    for (const auto& mac : unicast) data = concat({data, mac_bytes(mac)});
    data = concat({data, u32(static_cast<uint32_t>(multicast.size()))});
    for (const auto& mac : multicast) data = concat({data, mac_bytes(mac)});
    return command(ctrl::kClassMac, ctrl::kMacTableSet, data);
  }
  // Whether a frame to `destination` reaches the guest.
  bool delivered(const std::array<uint8_t, 6>& destination) {
    post_rx({2048});
    const uint16_t before = rx().used_idx();
    backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(destination, 60)));
    backend->pump();
    return rx().used_idx() != before;
  }
  // Leaves promiscuous mode (on after reset).
  void filter_on() { ASSERT_EQ(rx_mode(ctrl::kRxPromisc, false), ctrl::kOk); }
};

TEST_F(CtrlTest, PromiscuousAfterResetAcceptsEverything) {
  start();
  EXPECT_TRUE(delivered(kOtherUnicast));
  EXPECT_TRUE(delivered(kOtherMulticast));
}

TEST_F(CtrlTest, DefaultFilterAcceptsOwnMacAndBroadcastOnly) {
  start();
  filter_on();
  EXPECT_TRUE(delivered(kOwnMac));
  EXPECT_TRUE(delivered(kBroadcast));
  EXPECT_FALSE(delivered(kOtherUnicast));
  EXPECT_FALSE(delivered(kMulticast));
  EXPECT_EQ(net->stats().rx_dropped_filtered, 2u);
}

TEST_F(CtrlTest, AllmultiAcceptsEveryMulticast) {
  start();
  filter_on();
  ASSERT_EQ(rx_mode(ctrl::kRxAllmulti, true), ctrl::kOk);
  EXPECT_TRUE(delivered(kMulticast));
  EXPECT_FALSE(delivered(kOtherUnicast));
}

TEST_F(CtrlTest, ExtraModes) {
  start();
  filter_on();
  ASSERT_EQ(rx_mode(ctrl::kRxAlluni, true), ctrl::kOk);
  EXPECT_TRUE(delivered(kOtherUnicast));
  ASSERT_EQ(rx_mode(ctrl::kRxNouni, true), ctrl::kOk);
  EXPECT_FALSE(delivered(kOwnMac));
  ASSERT_EQ(rx_mode(ctrl::kRxNobcast, true), ctrl::kOk);
  EXPECT_FALSE(delivered(kBroadcast));
  ASSERT_EQ(rx_mode(ctrl::kRxAllmulti, true), ctrl::kOk);
  ASSERT_EQ(rx_mode(ctrl::kRxNomulti, true), ctrl::kOk);
  EXPECT_FALSE(delivered(kMulticast));
}

TEST_F(CtrlTest, MacTableEntriesAreAccepted) {
  start();
  filter_on();
  ASSERT_EQ(mac_table({kTableUnicast}, {kMulticast}), ctrl::kOk);
  EXPECT_EQ(net->rx_filter().table_entries(), 2u);
  EXPECT_TRUE(delivered(kTableUnicast));
  EXPECT_TRUE(delivered(kMulticast));
  EXPECT_FALSE(delivered(kOtherMulticast));
  EXPECT_FALSE(delivered(kOtherUnicast));
  EXPECT_TRUE(delivered(kOwnMac));
  // A new table replaces the old one.
  ASSERT_EQ(mac_table({}, {}), ctrl::kOk);
  EXPECT_FALSE(delivered(kTableUnicast));
}

TEST_F(CtrlTest, OverflowingTableAcceptsTheWholeClass) {
  start();
  filter_on();
  std::vector<std::array<uint8_t, 6>> many(RxFilter::kMacTableEntries + 1, kTableUnicast);
  ASSERT_EQ(mac_table(many, {}), ctrl::kOk);
  EXPECT_TRUE(delivered(kOtherUnicast));
  EXPECT_FALSE(delivered(kMulticast));
  std::vector<std::array<uint8_t, 6>> unicast(40, kTableUnicast), multicast(30, kMulticast);
  ASSERT_EQ(mac_table(unicast, multicast), ctrl::kOk);  // 70 > 64: multicast overflows
  EXPECT_TRUE(delivered(kOtherMulticast));
  EXPECT_FALSE(delivered(kOtherUnicast));
  EXPECT_LE(net->rx_filter().table_entries(), RxFilter::kMacTableEntries);
}

TEST_F(CtrlTest, MalformedMacTablesAreRefusedAndKeepTheOldTable) {
  start();
  filter_on();
  ASSERT_EQ(mac_table({kTableUnicast}, {}), ctrl::kOk);
  const Frame good_unicast = concat({u32(1), mac_bytes(kOtherUnicast)});
  // Count larger than the data; multicast count missing; trailing bytes;
  // a huge count that would overflow 32-bit arithmetic.
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacTableSet, concat({u32(2), mac_bytes(kOtherUnicast), u32(0)})), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacTableSet, good_unicast), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacTableSet, concat({good_unicast, u32(0), bytes_of({1})})), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacTableSet, concat({u32(0), u32(0xFFFFFFFF), mac_bytes(kMulticast)})),
            ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacTableSet, concat({u32(0x2AAAAAAB), u32(0)})), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacTableSet, bytes_of({1, 0})), ctrl::kErr);
  EXPECT_TRUE(delivered(kTableUnicast));
  EXPECT_FALSE(delivered(kOtherUnicast));
  EXPECT_EQ(net->stats().ctrl_errors, 6u);
}

TEST_F(CtrlTest, MacAddrSetChangesFilterAndConfig) {
  start();
  filter_on();
  ASSERT_EQ(command(ctrl::kClassMac, ctrl::kMacAddrSet, mac_bytes(kOtherUnicast)), ctrl::kOk);
  EXPECT_EQ(net->mac(), kOtherUnicast);
  std::array<std::byte, 6> config{};
  net->config_read(config::kMac, config);
  EXPECT_EQ(std::memcmp(config.data(), kOtherUnicast.data(), 6), 0);
  EXPECT_TRUE(delivered(kOtherUnicast));
  EXPECT_FALSE(delivered(kOwnMac));
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacAddrSet, bytes_of({1, 2, 3})), ctrl::kErr);  // short
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacAddrSet, concat({mac_bytes(kOwnMac), bytes_of({0})})), ctrl::kErr);
  EXPECT_EQ(net->mac(), kOtherUnicast);
}

TEST_F(CtrlTest, RxModeDataMustBeOneByte) {
  start();
  EXPECT_EQ(command(ctrl::kClassRx, ctrl::kRxPromisc, {}), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassRx, ctrl::kRxPromisc, bytes_of({0, 0})), ctrl::kErr);
  EXPECT_TRUE(net->rx_filter().promiscuous());
  EXPECT_EQ(command(ctrl::kClassRx, 6, bytes_of({1})), ctrl::kErr);  // unknown mode
}

TEST_F(CtrlTest, UnknownClassesAndCommandsAnswerErr) {
  start();
  EXPECT_EQ(command(2, 0, u32(0)), ctrl::kErr);   // VLAN: not offered
  EXPECT_EQ(command(4, 0, u32(1)), ctrl::kErr);   // MQ: not offered
  EXPECT_EQ(command(200, 7, {}), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassMac, 9, {}), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassGuestOffloads, 1, u64(0)), ctrl::kErr);
  EXPECT_EQ(ctrl().used_idx(), 5);
  EXPECT_EQ(ctrl().used_element(0).len, 1u);
}

TEST_F(CtrlTest, CommandsNeedTheirFeature) {
  start(virtio::feature::kVersion1 | net::feature::kCtrlVq);  // no CTRL_RX, MAC_ADDR, GUEST_OFFLOADS
  EXPECT_EQ(rx_mode(ctrl::kRxPromisc, false), ctrl::kErr);
  EXPECT_EQ(mac_table({}, {}), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassMac, ctrl::kMacAddrSet, mac_bytes(kOtherUnicast)), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassGuestOffloads, ctrl::kGuestOffloadsSet, u64(0)), ctrl::kErr);
  EXPECT_TRUE(net->rx_filter().promiscuous());
}

// Found by the virtio_net fuzz target: queue 2 is a control queue only when
// CTRL_VQ was negotiated.
TEST_F(CtrlTest, NoControlQueueWithoutCtrlVq) {
  start(virtio::feature::kVersion1 | net::feature::kMac);
  EXPECT_EQ(command(ctrl::kClassRx, ctrl::kRxPromisc, bytes_of({0})), 0xEE);  // ack byte untouched
  EXPECT_EQ(ctrl().used_idx(), 0);
  EXPECT_TRUE(net->rx_filter().promiscuous());
}

TEST_F(CtrlTest, ExtraModesNeedRxExtra) {
  start(kBaseFeatures & ~net::feature::kCtrlRxExtra);
  EXPECT_EQ(rx_mode(ctrl::kRxAllmulti, true), ctrl::kOk);
  EXPECT_EQ(rx_mode(ctrl::kRxNobcast, true), ctrl::kErr);
}

TEST_F(CtrlTest, MalformedChainsGoBackEmpty) {
  start();
  const uint64_t data = put(bytes_of({ctrl::kClassRx, ctrl::kRxPromisc, 0}));
  ctrl().add_chain({Segment{data, 3, false}});                               // no ack byte
  ctrl().add_chain({Segment{data, 1, false}, Segment{alloc(1), 1, true}});  // one header byte
  ctrl().add_chain({Segment{alloc(8), 8, true}});                           // nothing readable
  const uint64_t ack = alloc(1);
  ctrl().add_chain({Segment{data, 3, false}, Segment{ack, 1, true}});       // fine
  notify(kCtrlQueue);
  ASSERT_EQ(ctrl().used_idx(), 4);
  for (uint16_t i = 0; i < 3; ++i) EXPECT_EQ(ctrl().used_element(i).len, 0u) << i;
  EXPECT_EQ(ctrl().used_element(3).len, 1u);
  EXPECT_EQ(std::to_integer<uint8_t>(ram.host()[ack]), ctrl::kOk);
  EXPECT_FALSE(net->rx_filter().promiscuous());
  const NetStats stats = net->stats();
  EXPECT_EQ(stats.ctrl_malformed, 3u);
  EXPECT_EQ(stats.ctrl_commands, 1u);
  EXPECT_EQ(context.signals[kCtrlQueue], 1);
  EXPECT_TRUE(context.resets.empty());
}

TEST_F(CtrlTest, HeaderAndDataMaySpanDescriptors) {
  start();
  const uint64_t a = put(bytes_of({ctrl::kClassRx}));
  const uint64_t b = put(bytes_of({ctrl::kRxPromisc}));
  const uint64_t c = put(bytes_of({0}));
  const uint64_t ack = alloc(1);
  ctrl().add_chain({Segment{a, 1, false}, Segment{b, 1, false}, Segment{c, 1, false}, Segment{ack, 1, true}});
  notify(kCtrlQueue);
  EXPECT_EQ(std::to_integer<uint8_t>(ram.host()[ack]), ctrl::kOk);
  EXPECT_FALSE(net->rx_filter().promiscuous());
}

TEST_F(CtrlTest, CtrlBudgetReschedules) {
  start();
  constexpr int kCommands = VirtioNet::kCtrlBudget + 10;
  for (int i = 0; i < kCommands; ++i) {
    const uint64_t data = put(bytes_of({ctrl::kClassRx, ctrl::kRxAllmulti, 1}));
    ctrl().add_chain({Segment{data, 3, false}, Segment{alloc(1), 1, true}});
  }
  notify(kCtrlQueue);
  EXPECT_EQ(ctrl().used_idx(), VirtioNet::kCtrlBudget);
  EXPECT_EQ(context.reschedules[kCtrlQueue], 1);
  notify(kCtrlQueue);
  EXPECT_EQ(ctrl().used_idx(), kCommands);
}

class CtrlOffloadTest : public CtrlTest {
 protected:
  CtrlOffloadTest() {
    auto owned = std::make_unique<FakeNetBackend>(keel::net::BackendCapabilities{
        .tx = {}, .rx = {.csum = true, .tso4 = true, .tso6 = true, .ecn = false, .ufo = false}});
    backend = owned.get();
    net = std::make_unique<VirtioNet>(std::move(owned), NetOptions{kOwnMac, 1500});
  }
};

TEST_F(CtrlOffloadTest, GuestOffloadsSetOnlySubsetsOfNegotiated) {
  start(kBaseFeatures | net::feature::kGuestCsum | net::feature::kGuestTso4);
  EXPECT_TRUE(backend->guest_offloads.tso4);
  EXPECT_EQ(command(ctrl::kClassGuestOffloads, ctrl::kGuestOffloadsSet, u64(net::feature::kGuestCsum)), ctrl::kOk);
  EXPECT_TRUE(backend->guest_offloads.csum);
  EXPECT_FALSE(backend->guest_offloads.tso4);
  // TSO6 is offered but was not negotiated; MAC is no offload at all.
  EXPECT_EQ(command(ctrl::kClassGuestOffloads, ctrl::kGuestOffloadsSet, u64(net::feature::kGuestTso6)), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassGuestOffloads, ctrl::kGuestOffloadsSet, u64(net::feature::kMac)), ctrl::kErr);
  EXPECT_EQ(command(ctrl::kClassGuestOffloads, ctrl::kGuestOffloadsSet, u32(0)), ctrl::kErr);  // short
  EXPECT_FALSE(backend->guest_offloads.tso4);
  EXPECT_TRUE(backend->guest_offloads.csum);
  // Frames now need what the guest turned off: dropped.
  post_rx({65600});
  backend->inbox.push_back(with_header(
      VnetHeader{.flags = VnetHeader::kNeedsCsum, .gso_type = VnetHeader::kGsoTcpv4, .gso_size = 1448,
                 .csum_start = 34, .csum_offset = 16},
      ethernet_frame(kOwnMac, 5000)));
  backend->pump();
  EXPECT_EQ(net->stats().rx_dropped_offload, 1u);
}

TEST_F(CtrlTest, ResetRestoresDefaults) {
  start();
  filter_on();
  ASSERT_EQ(mac_table({kTableUnicast}, {kMulticast}), ctrl::kOk);
  ASSERT_EQ(command(ctrl::kClassMac, ctrl::kMacAddrSet, mac_bytes(kOtherUnicast)), ctrl::kOk);
  // A frame waits for buffers, and a tx chain for the backend.
  backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOtherUnicast, 60)));
  backend->pump();
  EXPECT_FALSE(backend->interest);
  EXPECT_EQ(backend->inbox.size(), 0u);
  backend->block_sends = 1;
  queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 60)));
  notify(kTxQueue);
  device_reset();
  EXPECT_TRUE(net->rx_filter().promiscuous());
  EXPECT_EQ(net->rx_filter().table_entries(), 0u);
  EXPECT_EQ(net->mac(), kOwnMac);
  // A fresh driver on fresh rings sees neither the old frame nor the old chain.
  for (auto& queue : context.queues) queue.reset();
  std::memset(ram.host() + 0x1000, 0, 0x9000);  // the three queues' rings
  start();
  post_rx({2048});
  notify(kRxQueue);
  EXPECT_EQ(rx().used_idx(), 0);
  net->send_possible();
  EXPECT_TRUE(backend->sent.empty());
  EXPECT_EQ(tx().used_idx(), 0);
}

}  // namespace
}  // namespace keel::virtio::net::testing
