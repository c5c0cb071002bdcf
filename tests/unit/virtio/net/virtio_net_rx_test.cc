// Receive path: backend frames into the rx queue, with and without
// MRG_RXBUF, back-pressure, offload checks and budgets.
#include <gtest/gtest.h>

#include "tests/unit/virtio/net/net_fixture.h"

namespace keel::virtio::net::testing {
namespace {

class RxTest : public NetTest {
 protected:
  VnetHeader header_at(uint64_t gpa) {
    VnetHeader header;
    std::memcpy(&header, ram.host() + gpa, kVnetHeaderSize);
    return header;
  }
  // Receives a frame in a fresh chain of one buffer; returns its address.
  void receive(const Frame& frame) {
    backend->inbox.push_back(frame);
    backend->pump();
  }
};

class RxOffloadTest : public RxTest {
 protected:
  RxOffloadTest() {
    auto owned = std::make_unique<FakeNetBackend>(keel::net::BackendCapabilities{
        .tx = {}, .rx = {.csum = true, .tso4 = true, .tso6 = true, .ecn = true, .ufo = true}});
    backend = owned.get();
    net = std::make_unique<VirtioNet>(std::move(owned), NetOptions{kOwnMac, 1500});
  }
};

TEST_F(RxTest, FrameLandsInOneBufferWithNumBuffersOne) {
  start();
  const auto buffers = post_rx({2048});
  const Frame frame = with_header(VnetHeader{}, ethernet_frame(kOwnMac, 1514));
  receive(frame);
  ASSERT_EQ(rx().used_idx(), 1);
  EXPECT_EQ(rx().used_element(0).len, frame.size());
  Frame expected = frame;
  expected[10] = std::byte{1};  // num_buffers
  EXPECT_EQ(peek(buffers[0], frame.size()), expected);
  EXPECT_EQ(context.signals[kRxQueue], 1);
  EXPECT_EQ(context.interrupts[kRxQueue], 1);
  EXPECT_EQ(net->stats().rx_frames, 1u);
  EXPECT_EQ(net->stats().rx_bytes, 1514u);
}

// Frames are read straight into the next one-buffer chain, then vetted.
// A dropped frame leaves its bytes there but no used entry; the next frame
// takes the same buffer, its used length covering only its own bytes, and
// the header the guest sees is keel's fitted copy, not the backend's.
TEST_F(RxTest, FramesDroppedAfterADirectReadLeaveNoUsedEntry) {
  start();
  const auto buffers = post_rx({2048});
  // A partial checksum the guest did not accept (no GUEST_CSUM): dropped.
  const Frame dropped = with_header(VnetHeader{.flags = VnetHeader::kNeedsCsum, .csum_start = 34, .csum_offset = 16},
                                    ethernet_frame(kOwnMac, 600, 4));
  receive(dropped);
  EXPECT_EQ(net->stats().rx_dropped_offload, 1u);
  EXPECT_EQ(rx().used_idx(), 0);
  EXPECT_EQ(peek(buffers[0] + 300, 100), Frame(dropped.begin() + 300, dropped.begin() + 400))
      << "read straight into the guest's buffer";
  const Frame kept = with_header(VnetHeader{.flags = VnetHeader::kDataValid, .num_buffers = 7},
                                 ethernet_frame(kOwnMac, 100, 5));
  receive(kept);
  ASSERT_EQ(rx().used_idx(), 1);
  EXPECT_EQ(rx().used_element(0).len, kept.size());
  EXPECT_EQ(header_at(buffers[0]).flags, 0) << "DATA_VALID cleared: no GUEST_CSUM";
  EXPECT_EQ(header_at(buffers[0]).num_buffers, 1);
  EXPECT_EQ(peek(buffers[0] + kVnetHeaderSize, 100), Frame(kept.begin() + kVnetHeaderSize, kept.end()));
  EXPECT_EQ(net->stats().rx_frames, 1u);
}

TEST_F(RxTest, FrameSpansTheDescriptorsOfOneChain) {
  start();
  const auto buffers = post_rx({12, 100, 2000});  // Linux's layout: header apart
  const Frame frame = with_header(VnetHeader{}, ethernet_frame(kOwnMac, 500));
  receive(frame);
  ASSERT_EQ(rx().used_idx(), 1);
  EXPECT_EQ(rx().used_element(0).len, frame.size());
  EXPECT_EQ(peek(buffers[1], 100), Frame(frame.begin() + 12, frame.begin() + 112));
  EXPECT_EQ(peek(buffers[2], 400), Frame(frame.begin() + 112, frame.end()));
}

TEST_F(RxTest, WithoutMergeableAFrameTooBigForTheChainIsDroppedAndTheChainKept) {
  start();
  post_rx({1000});
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 1500)));
  EXPECT_EQ(rx().used_idx(), 0);
  EXPECT_EQ(net->stats().rx_dropped_no_room, 1u);
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 500)));  // the chain serves the next frame
  ASSERT_EQ(rx().used_idx(), 1);
  EXPECT_EQ(rx().used_element(0).len, 512u);
}

TEST_F(RxTest, MergeableFrameSpansSeveralChains) {
  start(kBaseFeatures | net::feature::kMrgRxbuf);
  std::vector<uint64_t> buffers;
  for (int i = 0; i < 5; ++i) buffers.push_back(post_rx({1000})[0]);
  const Frame frame = with_header(VnetHeader{}, ethernet_frame(kOwnMac, 2988));  // 3000 bytes: 3 chains
  receive(frame);
  ASSERT_EQ(rx().used_idx(), 3);
  EXPECT_EQ(header_at(buffers[0]).num_buffers, 3);
  for (uint16_t i = 0; i < 3; ++i) EXPECT_EQ(rx().used_element(i).len, 1000u);
  Frame expected = frame;
  expected[10] = std::byte{3};
  Frame got;
  for (int i = 0; i < 3; ++i) {
    const Frame part = peek(buffers[i], 1000);
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(context.signals[kRxQueue], 1);
  // The two chains left take the next frame, whose last chain is partly used.
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 1488)));  // 1500 bytes
  ASSERT_EQ(rx().used_idx(), 5);
  EXPECT_EQ(header_at(buffers[3]).num_buffers, 2);
  EXPECT_EQ(rx().used_element(3).len, 1000u);
  EXPECT_EQ(rx().used_element(4).len, 500u);
}

TEST_F(RxTest, MergeableLargestFrameIntoPageSizedBuffers) {
  start(kBaseFeatures | net::feature::kMrgRxbuf);
  for (int i = 0; i < 20; ++i) post_rx({4096});
  const Frame frame = with_header(VnetHeader{}, ethernet_frame(kOwnMac, keel::net::kMaxFrameSize));
  receive(frame);
  const uint16_t chains = static_cast<uint16_t>((frame.size() + 4095) / 4096);
  EXPECT_EQ(rx().used_idx(), chains);
  EXPECT_EQ(net->stats().rx_frames, 1u);
}

TEST_F(RxTest, NoBuffersTurnsInterestOffAndTheDoorbellResumesWithoutLoss) {
  start();
  for (int i = 0; i < 3; ++i) backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 100, static_cast<uint8_t>(i))));
  backend->pump();
  EXPECT_FALSE(backend->interest);
  EXPECT_EQ(backend->inbox.size(), 2u);  // one waits inside keel, two in the host
  EXPECT_EQ(rx().used_flags() & ring::kUsedFlagNoNotify, 0) << "the driver must ring when it refills";
  std::vector<uint64_t> buffers;
  for (int i = 0; i < 3; ++i) buffers.push_back(post_rx({2048})[0]);
  notify(kRxQueue);
  EXPECT_TRUE(backend->interest);
  EXPECT_EQ(rx().used_idx(), 1);  // the waiting frame went in at once
  backend->pump();
  ASSERT_EQ(rx().used_idx(), 3);
  for (int i = 0; i < 3; ++i) {
    Frame expected = with_header(VnetHeader{}, ethernet_frame(kOwnMac, 100, static_cast<uint8_t>(i)));
    expected[10] = std::byte{1};
    EXPECT_EQ(peek(buffers[i], expected.size()), expected) << i;
  }
  const NetStats stats = net->stats();
  EXPECT_EQ(stats.rx_frames, 3u);
  EXPECT_EQ(stats.rx_dropped_no_room + stats.rx_dropped_filtered + stats.rx_dropped_malformed, 0u);
}

TEST_F(RxTest, MergeableFrameWaitsForEnoughBuffers) {
  start(kBaseFeatures | net::feature::kMrgRxbuf);
  post_rx({1000});
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 2488)));  // needs 3 chains
  EXPECT_FALSE(backend->interest);
  EXPECT_EQ(rx().used_idx(), 0);
  post_rx({1000});
  notify(kRxQueue);
  EXPECT_EQ(rx().used_idx(), 0);
  EXPECT_FALSE(backend->interest);
  post_rx({1000});
  notify(kRxQueue);
  EXPECT_EQ(rx().used_idx(), 3);
  EXPECT_TRUE(backend->interest);
  EXPECT_EQ(net->stats().rx_frames, 1u);
}

TEST_F(RxTest, DoorbellWithNothingWaitingTurnsRxNotificationsOff) {
  start();
  post_rx({2048});
  notify(kRxQueue);
  EXPECT_EQ(rx().used_flags() & ring::kUsedFlagNoNotify, ring::kUsedFlagNoNotify);
  EXPECT_TRUE(backend->interest);
}

TEST_F(RxTest, BuffersTooSmallForAHeaderGoBackEmpty) {
  start();
  rx().add_chain({Segment{alloc(8), 8, true}});
  rx().add_chain({Segment{alloc(64), 64, false}});  // nothing writable
  post_rx({2048});
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 100)));
  ASSERT_EQ(rx().used_idx(), 3);
  EXPECT_EQ(rx().used_element(0).len, 0u);
  EXPECT_EQ(rx().used_element(1).len, 0u);
  EXPECT_EQ(rx().used_element(2).len, 112u);
  EXPECT_EQ(net->stats().rx_bad_buffers, 2u);
  EXPECT_TRUE(context.resets.empty());
}

TEST_F(RxTest, ARingOfUselessBuffersEndsTheWakeUp) {
  start();
  const uint64_t tiny = alloc(8);
  for (int i = 0; i < kQueueSize; ++i) rx().add_chain({Segment{tiny, 8, true}});
  backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 100)));
  net->frames_waiting();
  EXPECT_EQ(rx().used_idx(), kQueueSize);
  EXPECT_EQ(context.reschedules[kRxQueue], 1);
  EXPECT_FALSE(backend->interest);
  post_rx({2048});
  notify(kRxQueue);  // the rescheduled call (or the driver's doorbell)
  EXPECT_EQ(rx().used_idx(), kQueueSize + 1);
  EXPECT_TRUE(backend->interest);
  EXPECT_EQ(net->stats().rx_frames, 1u);
}

TEST_F(RxTest, NegotiatedMtuBoundsUnsegmentedFrames) {
  start(kBaseFeatures | net::feature::kMtu);  // mtu 1500
  for (int i = 0; i < 2; ++i) post_rx({2048});
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 1500 + 18 + 1)));
  EXPECT_EQ(net->stats().rx_dropped_over_mtu, 1u);
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 1500 + 18)));
  EXPECT_EQ(rx().used_idx(), 1);
}

TEST_F(RxTest, MalformedBackendFramesAreDropped) {
  start();
  post_rx({2048});
  backend->inbox.push_back(Frame(5));
  backend->inbox.push_back(Frame(kVnetHeaderSize + 13));
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  EXPECT_EQ(rx().used_idx(), 1);
  EXPECT_EQ(net->stats().rx_dropped_malformed, 2u);
}

TEST_F(RxTest, BackendErrorsAreCountedAndReceivingGoesOn) {
  start();
  post_rx({2048});
  backend->receive_errors = 2;
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  EXPECT_EQ(rx().used_idx(), 1);
  EXPECT_EQ(net->stats().rx_backend_errors, 2u);
}

TEST_F(RxTest, OffloadsTheGuestDidNotAcceptAreDropped) {
  start();  // no GUEST_* features
  for (int i = 0; i < 4; ++i) post_rx({2048});
  EXPECT_EQ(backend->guest_offloads, keel::net::Offloads{});
  receive(with_header(VnetHeader{.flags = VnetHeader::kNeedsCsum, .csum_start = 34, .csum_offset = 16},
                      ethernet_frame(kOwnMac, 100)));
  receive(with_header(VnetHeader{.gso_type = VnetHeader::kGsoTcpv4, .gso_size = 1448}, ethernet_frame(kOwnMac, 100)));
  EXPECT_EQ(net->stats().rx_dropped_offload, 2u);
  // DATA_VALID is only cleared: the frame is fully checksummed anyway.
  receive(with_header(VnetHeader{.flags = VnetHeader::kDataValid}, ethernet_frame(kOwnMac, 100)));
  ASSERT_EQ(rx().used_idx(), 1);
  EXPECT_EQ(header_at(FakeDriver::kDataStart).flags, 0);
}

TEST_F(RxOffloadTest, NegotiatedOffloadsReachTheBackendAndPassThrough) {
  start(kBaseFeatures | net::feature::kGuestCsum | net::feature::kGuestTso4);
  EXPECT_TRUE(backend->guest_offloads.csum);
  EXPECT_TRUE(backend->guest_offloads.tso4);
  EXPECT_FALSE(backend->guest_offloads.tso6);
  const auto buffers = post_rx({65600});
  const VnetHeader header{.flags = VnetHeader::kNeedsCsum | VnetHeader::kDataValid,
                          .gso_type = VnetHeader::kGsoTcpv4,
                          .hdr_len = 66,
                          .gso_size = 1448,
                          .csum_start = 34,
                          .csum_offset = 16};
  receive(with_header(header, ethernet_frame(kOwnMac, 30000)));
  ASSERT_EQ(rx().used_idx(), 1);
  VnetHeader seen = header_at(buffers[0]);
  EXPECT_EQ(seen.flags, header.flags);
  EXPECT_EQ(seen.gso_type, header.gso_type);
  EXPECT_EQ(seen.gso_size, header.gso_size);
  EXPECT_EQ(seen.csum_start, header.csum_start);
  EXPECT_EQ(seen.num_buffers, 1);
  // TSO6 was not negotiated: such a frame is dropped.
  receive(with_header(VnetHeader{.flags = VnetHeader::kNeedsCsum, .gso_type = VnetHeader::kGsoTcpv6,
                                 .gso_size = 1400, .csum_start = 54, .csum_offset = 16},
                      ethernet_frame(kOwnMac, 3000)));
  EXPECT_EQ(net->stats().rx_dropped_offload, 1u);
}

TEST_F(RxTest, BudgetBoundsOneCallback) {
  start();
  for (int i = 0; i < 100; ++i) post_rx({256});
  for (int i = 0; i < 100; ++i) backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  net->frames_waiting();
  EXPECT_EQ(rx().used_idx(), VirtioNet::kRxBudget);
  EXPECT_EQ(context.signals[kRxQueue], 1);
  EXPECT_TRUE(backend->interest);  // level-triggered: the backend calls again
  backend->pump();
  EXPECT_EQ(rx().used_idx(), 100);
}

TEST_F(RxTest, InactiveDeviceTurnsInterestOff) {
  // Never activated: the callback has no context to lock.
  net->frames_waiting();
  EXPECT_FALSE(backend->interest);
  start();
  EXPECT_TRUE(backend->interest);
  device_reset();
  EXPECT_FALSE(backend->interest);
  backend->interest = true;
  backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  net->frames_waiting();
  EXPECT_FALSE(backend->interest);
  EXPECT_EQ(backend->inbox.size(), 1u);  // not read, not lost
}

TEST_F(RxTest, EventIdxSuppressesRxInterrupts) {
  start(kBaseFeatures | virtio::feature::kRingEventIdx);
  for (int i = 0; i < 4; ++i) post_rx({256});
  rx().set_used_event(1);  // the driver wants an interrupt once two are used
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  EXPECT_EQ(context.interrupts[kRxQueue], 0);
  receive(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  EXPECT_EQ(context.interrupts[kRxQueue], 1);
  EXPECT_EQ(context.signals[kRxQueue], 2);
}

TEST_F(RxTest, EventIdxStarvationAsksForTheNextBuffer) {
  start(kBaseFeatures | virtio::feature::kRingEventIdx);
  post_rx({256});
  backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  backend->pump();
  EXPECT_FALSE(backend->interest);
  EXPECT_EQ(rx().avail_event(), 1) << "avail_event names the next buffer the device waits for";
}

}  // namespace
}  // namespace keel::virtio::net::testing
