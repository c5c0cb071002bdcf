// Transmit path: frames from the tx queue to the backend.
#include <gtest/gtest.h>

#include "tests/unit/virtio/net/net_fixture.h"

namespace keel::virtio::net::testing {
namespace {

constexpr keel::net::BackendCapabilities kOffloadCaps{
    .tx = {.csum = true, .tso4 = true, .tso6 = true, .ecn = true, .ufo = true},
    .rx = {.csum = true, .tso4 = true, .tso6 = true, .ecn = true, .ufo = true},
};

class TxTest : public NetTest {};
class TxOffloadTest : public NetTest {
 protected:
  TxOffloadTest() : NetTest(kOffloadCaps) {}
};

TEST_F(TxTest, SendsAFrameAndGivesTheChainBack) {
  start();
  const Frame frame = with_header(VnetHeader{}, ethernet_frame(kBroadcast, 60));
  const uint16_t head = queue_tx(frame);
  notify(kTxQueue);
  ASSERT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(backend->sent[0], frame);
  ASSERT_EQ(tx().used_idx(), 1);
  EXPECT_EQ(tx().used_element(0).id, head);
  EXPECT_EQ(tx().used_element(0).len, 0u);
  EXPECT_EQ(context.signals[kTxQueue], 1);
  EXPECT_EQ(context.interrupts[kTxQueue], 1);
  const NetStats stats = net->stats();
  EXPECT_EQ(stats.tx_frames, 1u);
  EXPECT_EQ(stats.tx_bytes, 60u);
}

TEST_F(TxTest, GathersAFrameSplitAcrossManyDescriptors) {
  start();
  const Frame frame = with_header(VnetHeader{}, ethernet_frame(kOwnMac, 1514, 7));
  queue_tx(frame, 7);  // 218 descriptors; the header itself spans two
  notify(kTxQueue);
  ASSERT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(backend->sent[0], frame);
}

TEST_F(TxTest, BatchOfFramesSignalsOnce) {
  start();
  for (int i = 0; i < 10; ++i) queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 100, static_cast<uint8_t>(i))));
  notify(kTxQueue);
  EXPECT_EQ(backend->sent.size(), 10u);
  EXPECT_EQ(tx().used_idx(), 10);
  EXPECT_EQ(context.signals[kTxQueue], 1);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(backend->sent[i], with_header(VnetHeader{}, ethernet_frame(kBroadcast, 100, static_cast<uint8_t>(i))));
  }
}

TEST_F(TxOffloadTest, PassesAnOffloadHeaderThrough) {
  start(kBaseFeatures | net::feature::kCsum | net::feature::kHostTso4 | net::feature::kHostEcn);
  VnetHeader header{.flags = VnetHeader::kNeedsCsum,
                    .gso_type = VnetHeader::kGsoTcpv4 | VnetHeader::kGsoEcn,
                    .hdr_len = 54,
                    .gso_size = 1448,
                    .csum_start = 34,
                    .csum_offset = 16};
  const Frame frame = with_header(header, ethernet_frame(kBroadcast, 9000));
  queue_tx(frame);
  notify(kTxQueue);
  ASSERT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(backend->sent[0], frame);
}

TEST_F(TxOffloadTest, HeadersTheFeaturesDoNotAllowAreDroppedAndCounted) {
  start(kBaseFeatures | net::feature::kCsum | net::feature::kHostTso4);  // no TSO6, UFO, ECN
  const Frame ethernet = ethernet_frame(kBroadcast, 200);
  const std::vector<VnetHeader> bad = {
      {.flags = VnetHeader::kDataValid},                                           // driver must not set it
      {.flags = 0x80},                                                             // unknown flag
      {.flags = VnetHeader::kNeedsCsum, .csum_start = 199, .csum_offset = 0},      // checksum past the end
      {.flags = VnetHeader::kNeedsCsum, .csum_start = 100, .csum_offset = 0xFFFF}, // offset past the end
      {.gso_type = VnetHeader::kGsoTcpv6, .gso_size = 100},                        // TSO6 not negotiated
      {.gso_type = VnetHeader::kGsoUdp, .gso_size = 100},                          // UFO not negotiated
      {.gso_type = VnetHeader::kGsoTcpv4 | VnetHeader::kGsoEcn, .gso_size = 100},  // ECN not negotiated
      {.gso_type = VnetHeader::kGsoEcn},                                           // ECN without gso
      {.gso_type = 2, .gso_size = 100},                                            // unknown type
      {.gso_type = VnetHeader::kGsoTcpv4, .gso_size = 0},                          // zero segment size
      {.hdr_len = 201},                                                            // beyond the frame
  };
  for (const VnetHeader& header : bad) queue_tx(with_header(header, ethernet));
  queue_tx(with_header(VnetHeader{}, ethernet));  // the queue keeps working
  notify(kTxQueue);
  EXPECT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(tx().used_idx(), bad.size() + 1);
  EXPECT_EQ(net->stats().tx_dropped_bad_header, bad.size());
  EXPECT_TRUE(context.resets.empty());
}

TEST_F(TxTest, NeedsCsumWithoutTheCsumFeatureIsDropped) {
  start();
  VnetHeader header{.flags = VnetHeader::kNeedsCsum, .csum_start = 34, .csum_offset = 6};
  queue_tx(with_header(header, ethernet_frame(kBroadcast, 100)));
  notify(kTxQueue);
  EXPECT_TRUE(backend->sent.empty());
  EXPECT_EQ(net->stats().tx_dropped_bad_header, 1u);
}

TEST_F(TxTest, ShortAndOversizedChainsAreDroppedAndReturned) {
  start();
  queue_tx(Frame(5));                                        // ends inside the header
  queue_tx(Frame(kVnetHeaderSize));                          // header, no frame
  queue_tx(Frame(kVnetHeaderSize + 13));                     // less than an Ethernet header
  queue_tx(Frame(kVnetHeaderSize + keel::net::kMaxFrameSize + 1));  // one byte too long
  // A chain that has only a writable buffer: nothing readable at all.
  tx().add_chain({Segment{alloc(64), 64, true}});
  notify(kTxQueue);
  EXPECT_TRUE(backend->sent.empty());
  EXPECT_EQ(tx().used_idx(), 5);
  for (uint16_t i = 0; i < 5; ++i) EXPECT_EQ(tx().used_element(i).len, 0u);
  const NetStats stats = net->stats();
  EXPECT_EQ(stats.tx_dropped_short, 4u);
  EXPECT_EQ(stats.tx_dropped_oversized, 1u);
}

TEST_F(TxTest, LargestFrameIsSent) {
  start();
  queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, keel::net::kMaxFrameSize)), 4096);
  notify(kTxQueue);
  ASSERT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(backend->sent[0].size(), kVnetHeaderSize + keel::net::kMaxFrameSize);
}

TEST_F(TxTest, HeaderIsKeelsCheckedCopy) {
  // The guest's num_buffers (meaningless on tx) does not reach the backend:
  // the backend sees the header keel validated, not guest memory.
  start();
  VnetHeader header{.num_buffers = 0x1234};
  queue_tx(with_header(header, ethernet_frame(kBroadcast, 64)));
  notify(kTxQueue);
  ASSERT_EQ(backend->sent.size(), 1u);
  VnetHeader seen;
  std::memcpy(&seen, backend->sent[0].data(), kVnetHeaderSize);
  EXPECT_EQ(seen.num_buffers, 0);
}

TEST_F(TxTest, WouldBlockKeepsTheChainUntilSendPossible) {
  start();
  for (int i = 0; i < 3; ++i) queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 64, static_cast<uint8_t>(i))));
  backend->block_sends = 2;
  notify(kTxQueue);
  EXPECT_TRUE(backend->sent.empty());
  EXPECT_EQ(tx().used_idx(), 0);  // not given back: still to be sent
  notify(kTxQueue);               // a doorbell retries too, and blocks again
  EXPECT_EQ(tx().used_idx(), 0);
  net->send_possible();
  ASSERT_EQ(backend->sent.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(backend->sent[i], with_header(VnetHeader{}, ethernet_frame(kBroadcast, 64, static_cast<uint8_t>(i))));
  }
  EXPECT_EQ(tx().used_idx(), 3);
  EXPECT_EQ(net->stats().tx_would_block, 2u);
}

TEST_F(TxTest, BackendRefusalDropsAndCounts) {
  start();
  queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 64)));
  queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 64)));
  backend->refuse_sends = 1;
  notify(kTxQueue);
  EXPECT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(tx().used_idx(), 2);
  EXPECT_EQ(net->stats().tx_dropped_backend, 1u);
}

TEST_F(TxTest, BudgetBoundsOneWakeUpAndReschedules) {
  start();
  constexpr int kFrames = VirtioNet::kTxBudget + 20;
  static_assert(kFrames <= kQueueSize);
  for (int i = 0; i < kFrames; ++i) queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 60)));
  notify(kTxQueue);
  EXPECT_EQ(backend->sent.size(), static_cast<size_t>(VirtioNet::kTxBudget));
  EXPECT_EQ(context.reschedules[kTxQueue], 1);
  notify(kTxQueue);  // what the transport does for reschedule()
  EXPECT_EQ(backend->sent.size(), static_cast<size_t>(kFrames));
  EXPECT_EQ(context.reschedules[kTxQueue], 1);
  EXPECT_EQ(tx().used_idx(), kFrames);
}

TEST_F(TxTest, NotificationsAreOnAgainAfterDraining) {
  start();
  queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 60)));
  notify(kTxQueue);
  EXPECT_EQ(tx().used_flags() & ring::kUsedFlagNoNotify, 0);
}

TEST_F(TxTest, EventIdxSuppressesInterruptsAsTheDriverAsks) {
  start(kBaseFeatures | virtio::feature::kRingEventIdx);
  tx().set_used_event(3);  // interrupt once used.idx passes 3
  for (int round = 0; round < 4; ++round) {
    queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 60)));
    notify(kTxQueue);
  }
  EXPECT_EQ(context.signals[kTxQueue], 4);
  EXPECT_EQ(context.interrupts[kTxQueue], 1);
  // Drained with notifications on: avail_event asks for the next index.
  EXPECT_EQ(tx().avail_event(), 4);
}

TEST_F(TxTest, NoInterruptFlagHonoured) {
  start();
  tx().set_avail_flags(ring::kAvailFlagNoInterrupt);
  queue_tx(with_header(VnetHeader{}, ethernet_frame(kBroadcast, 60)));
  notify(kTxQueue);
  EXPECT_EQ(context.signals[kTxQueue], 1);
  EXPECT_EQ(context.interrupts[kTxQueue], 0);
}

}  // namespace
}  // namespace keel::virtio::net::testing
