// A device that reserve()s its chain pops any number of hostile chains
// without a single heap allocation: the chain's cap is a bound the guest
// cannot push past (issue 9: allocations on noexcept guest paths).
#include <gtest/gtest.h>

#include "tests/support/allocation_counter.h"
#include "tests/unit/virtio/core/queue_fixture.h"

namespace keel::virtio::testing {
namespace {

using keel::testing::AllocationCounter;

class BoundedPopTest : public QueueTest {
 protected:
  static constexpr uint32_t kCap = 16;
  static constexpr uint64_t kTable = kData + 0x8000;

  // An indirect table of `count` 1-byte buffers, alternately readable and
  // then (second half) writable, published as one chain.
  void post_indirect(uint32_t count) {
    std::vector<Segment> segments;
    for (uint32_t i = 0; i < count; ++i) segments.push_back({kData + i, 1, i >= count / 2});
    driver_.add_indirect_chain(kTable, segments);
  }
};

TEST_F(BoundedPopTest, ReservedChainIsNeverGrownAcrossAFlood) {
  Virtqueue queue = make_queue({.indirect = true});
  DescriptorChain chain;
  chain.reserve(kCap);
  const size_t readable_capacity = chain.readable.capacity();
  const size_t writable_capacity = chain.writable.capacity();
  uint64_t allocated = 0;
  for (int round = 0; round < 2000; ++round) {
    post_indirect(kCap);  // exactly at the cap: accepted
    AllocationCounter allocations;  // the device's side only, not the driver's
    auto popped = queue.pop_into(chain);
    ASSERT_TRUE(popped.has_value() && *popped) << (popped ? "no chain" : popped.error().what);
    EXPECT_EQ(chain.readable.size() + chain.writable.size(), kCap);
    ASSERT_TRUE(queue.push_used(chain.head, 0).has_value());
    allocated += allocations.count();
  }
  EXPECT_EQ(allocated, 0u);
  EXPECT_EQ(chain.readable.capacity(), readable_capacity);
  EXPECT_EQ(chain.writable.capacity(), writable_capacity);
}

TEST_F(BoundedPopTest, ChainOverTheCapIsAnErrorNotAGrowth) {
  Virtqueue queue = make_queue({.indirect = true});
  DescriptorChain chain;
  chain.reserve(kCap);
  // The ring allows far more through one indirect table (here 3000 buffers);
  // the device's cap does not.
  post_indirect(3000);
  const auto before = ram_.snapshot();
  AllocationCounter allocations;
  auto popped = queue.pop_into(chain);
  ASSERT_FALSE(popped.has_value());
  EXPECT_EQ(popped.error().code, Errc::malformed);
  EXPECT_EQ(allocations.count(), 0u);
  EXPECT_LE(chain.readable.capacity() + chain.writable.capacity(), 2u * kCap);
  EXPECT_EQ(chain.max_buffers(), kCap);
  // Nothing consumed, nothing written: the device marks NEEDS_RESET.
  EXPECT_EQ(queue.last_avail_idx(), 0);
  EXPECT_EQ(queue.in_flight(), 0);
  EXPECT_TRUE(ram_.snapshot() == before);
}

TEST_F(BoundedPopTest, ZeroLengthDescriptorsDoNotCountAgainstTheCap) {
  Virtqueue queue = make_queue({.indirect = true});
  DescriptorChain chain;
  chain.reserve(2);
  driver_.add_indirect_chain(kTable, {{kData, 0}, {kData, 4}, {kData, 0}, {kData + 8, 4, true}, {kData, 0, true}});
  auto popped = queue.pop_into(chain);
  ASSERT_TRUE(popped.has_value() && *popped);
  EXPECT_EQ(chain.readable.size(), 1u);
  EXPECT_EQ(chain.writable.size(), 1u);
}

TEST_F(BoundedPopTest, UnreservedChainKeepsTheRingsOwnBound) {
  // No reserve(): as before, the table's own length bounds the chain.
  Virtqueue queue = make_queue({.indirect = true});
  post_indirect(3000);
  DescriptorChain chain;
  auto popped = queue.pop_into(chain);
  ASSERT_TRUE(popped.has_value() && *popped);
  EXPECT_EQ(chain.readable.size() + chain.writable.size(), 3000u);
}

}  // namespace
}  // namespace keel::virtio::testing
