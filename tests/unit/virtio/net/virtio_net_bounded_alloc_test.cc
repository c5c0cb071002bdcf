// virtio-net allocates nothing on the guest's behalf (issue 9: allocations
// on noexcept guest paths): every chain it pops into and every iovec it
// gathers was made at construction, at a bound the guest cannot push past.
// Floods of frames, commands and rx buffers are counted with a replaced
// operator new (tests/support/allocation_counter); the fake backend and
// driver allocate outside the counted calls.
#include <spdlog/spdlog.h>

#include "tests/support/allocation_counter.h"
#include "tests/unit/virtio/net/net_fixture.h"

namespace keel::virtio::net::testing {
namespace {

using keel::testing::allocations_in;

class BoundedAllocationTest : public NetTest {};

// 4,000 frames of 9,000 bytes, each gathered from 100 descriptors (the
// backend refuses them, which costs it nothing): host_iovecs used to build
// a vector per frame.
TEST_F(BoundedAllocationTest, ATxFloodAllocatesNothing) {
  start();
  backend->refuse_sends = 1 << 30;
  Frame bytes = with_header(VnetHeader{}, ethernet_frame(kBroadcast, 9000 - kVnetHeaderSize));
  const uint64_t gpa = put(bytes);
  std::vector<Segment> segments;
  for (size_t at = 0; at < bytes.size(); at += 90) segments.push_back({gpa + at, 90, false});
  uint64_t allocated = 0;
  for (int round = 0; round < 2000; ++round) {
    tx().add_chain(segments);
    tx().add_chain(segments);
    allocated += allocations_in([&] { notify(kTxQueue); });
  }
  EXPECT_EQ(allocated, 0u);
  EXPECT_EQ(tx().used_idx(), static_cast<uint16_t>(4000));
  EXPECT_EQ(net->stats().tx_dropped_backend, 4000u);
  EXPECT_TRUE(context.resets.empty());
}

// 10,000 control commands of an unknown class: each used to be popped into
// a chain made for it.
TEST_F(BoundedAllocationTest, ACtrlFloodAllocatesNothing) {
  start();
  const Frame bytes{std::byte{0xEE}, std::byte{0x01}, std::byte{0}, std::byte{0}};
  const uint64_t gpa = put(bytes);
  const uint64_t ack = alloc(1);
  uint64_t allocated = 0;
  for (int round = 0; round < 10000; ++round) {
    ctrl().add_chain({Segment{gpa, 4, false}, Segment{ack, 1, true}});
    allocated += allocations_in([&] { notify(kCtrlQueue); });
  }
  EXPECT_EQ(allocated, 0u);
  EXPECT_EQ(net->stats().ctrl_errors, 10000u);
  EXPECT_TRUE(context.resets.empty());
}

// rx chains of 1..64 buffers, growing, and 5,000 frames through them: the
// spare chains used to be made (and grown) as the guest's chains came.
TEST_F(BoundedAllocationTest, AnRxFloodOfEverLongerChainsAllocatesNothing) {
  start();
  const uint64_t buffers = alloc(64 * 128);  // each buffer holds a whole frame
  const Frame frame = with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60));
  uint64_t allocated = 0;
  for (int round = 0; round < 5000; ++round) {
    const uint32_t count = 1 + static_cast<uint32_t>(round % VirtioNet::kMaxRxChainBuffers);
    std::vector<Segment> segments;
    for (uint32_t i = 0; i < count; ++i) segments.push_back({buffers + 128ull * i, 128, true});
    rx().add_chain(segments);
    backend->inbox.push_back(frame);
    allocated += allocations_in([&] {
      notify(kRxQueue);
      backend->pump();
    });
  }
  EXPECT_EQ(allocated, 0u);
  EXPECT_EQ(net->stats().rx_frames, 5000u);
  EXPECT_TRUE(context.resets.empty());
}

// More buffers in one chain than keel takes -- only an indirect table can
// carry them -- is a broken driver: NEEDS_RESET, and nothing grows.
TEST_F(BoundedAllocationTest, ChainsOverTheCapAskForAResetWithoutAllocating) {
  start(kBaseFeatures | virtio::feature::kRingIndirectDesc);
  const uint64_t table = alloc(16 * 4096);
  const uint64_t data = alloc(4096);
  std::vector<Segment> segments;
  for (uint32_t i = 0; i < 4096; ++i) segments.push_back({data + i, 1, false});
  tx().add_indirect_chain(table, segments);
  context.resets.reserve(4);  // the fake context's own record
  EXPECT_EQ(allocations_in([&] { notify(kTxQueue); }), 0u);
  ASSERT_EQ(context.resets.size(), 1u);
  EXPECT_EQ(tx().used_idx(), 0);
}

TEST_F(BoundedAllocationTest, AnRxChainOverItsCapAsksForAResetWithoutAllocating) {
  start();
  std::vector<uint32_t> lengths(VirtioNet::kMaxRxChainBuffers + 1, 64);
  post_rx(lengths);
  backend->inbox.push_back(with_header(VnetHeader{}, ethernet_frame(kOwnMac, 60)));
  context.resets.reserve(4);
  EXPECT_EQ(allocations_in([&] {
              notify(kRxQueue);
              backend->pump();
            }),
            0u);
  ASSERT_EQ(context.resets.size(), 1u);
  EXPECT_EQ(rx().used_idx(), 0);
}

}  // namespace
}  // namespace keel::virtio::net::testing
