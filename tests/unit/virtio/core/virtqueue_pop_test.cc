// Virtqueue::pop() and push_used() on well-formed chains (virtio 1.2, 2.7.5,
// 2.7.8, 2.7.13).
#include "tests/unit/virtio/core/queue_fixture.h"

namespace keel::virtio::testing {
namespace {

using PopTest = QueueTest;

TEST_F(PopTest, EmptyQueueHasNothing) {
  Virtqueue queue = make_queue();
  auto popped = queue.pop();
  ASSERT_TRUE(popped.has_value());
  EXPECT_FALSE(popped->has_value());
  EXPECT_EQ(queue.in_flight(), 0);
}

TEST_F(PopTest, SingleReadableDescriptor) {
  Virtqueue queue = make_queue();
  const uint16_t head = driver_.add_chain({{kData, 512}});
  DescriptorChain chain = pop_chain(queue);
  EXPECT_EQ(chain.head, head);
  ASSERT_EQ(chain.readable.size(), 1u);
  EXPECT_EQ(raw(chain.readable[0].address), kData);
  EXPECT_EQ(chain.readable[0].length, 512u);
  EXPECT_TRUE(chain.writable.empty());
  EXPECT_EQ(chain.readable_length(), 512u);
  EXPECT_EQ(queue.in_flight(), 1);
  EXPECT_EQ(queue.last_avail_idx(), 1);
  // Consumed: nothing more.
  auto again = queue.pop();
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value());
}

TEST_F(PopTest, PushUsedWritesEntryThenIndex) {
  Virtqueue queue = make_queue();
  const uint16_t head = driver_.add_chain({{kData, 16, true}});
  DescriptorChain chain = pop_chain(queue);
  ASSERT_TRUE(queue.push_used(chain.head, 7).has_value());
  EXPECT_EQ(driver_.used_idx(), 1);
  EXPECT_EQ(driver_.used_element(0).id, head);
  EXPECT_EQ(driver_.used_element(0).len, 7u);
  EXPECT_EQ(queue.in_flight(), 0);
  EXPECT_EQ(queue.used_idx(), 1);
  EXPECT_TRUE(ram_.guards_intact());
}

TEST_F(PopTest, ReadableThenWritableChain) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{kData, 16}, {kData + 0x100, 4096}, {kData + 0x2000, 1024, true}, {kData + 0x3000, 1, true}});
  DescriptorChain chain = pop_chain(queue);
  ASSERT_EQ(chain.readable.size(), 2u);
  ASSERT_EQ(chain.writable.size(), 2u);
  EXPECT_EQ(raw(chain.readable[1].address), kData + 0x100);
  EXPECT_EQ(raw(chain.writable[0].address), kData + 0x2000);
  EXPECT_EQ(raw(chain.writable[1].address), kData + 0x3000);
  EXPECT_EQ(chain.readable_length(), 16u + 4096u);
  EXPECT_EQ(chain.writable_length(), 1025u);
}

TEST_F(PopTest, WritableOnlyChain) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{kData, 64, true}, {kData + 64, 64, true}});
  DescriptorChain chain = pop_chain(queue);
  EXPECT_TRUE(chain.readable.empty());
  EXPECT_EQ(chain.writable.size(), 2u);
}

TEST_F(PopTest, ChainAsLongAsTheQueue) {
  Virtqueue queue = make_queue();
  std::vector<Segment> segments;
  for (uint16_t i = 0; i < kSize; ++i) segments.push_back({kData + 0x100ull * i, 0x100});
  driver_.add_chain(segments);
  EXPECT_EQ(pop_chain(queue).readable.size(), kSize);
}

TEST_F(PopTest, BufferAtTheEndOfRam) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{kRamSize - 4, 4, true}});
  EXPECT_EQ(pop_chain(queue).writable_length(), 4u);
}

TEST_F(PopTest, ZeroLengthDescriptorsAreDropped) {
  Virtqueue queue = make_queue();
  // Even one whose address is outside RAM: no byte of it is ever accessed.
  driver_.add_chain({{kData, 8}, {0xFFFF'FFFF'FFFF'0000, 0}, {kData + 8, 0, true}, {kData + 16, 8, true}});
  DescriptorChain chain = pop_chain(queue);
  ASSERT_EQ(chain.readable.size(), 1u);
  ASSERT_EQ(chain.writable.size(), 1u);
  EXPECT_EQ(raw(chain.writable[0].address), kData + 16);
}

TEST_F(PopTest, IndirectChain) {
  Virtqueue queue = make_queue({.indirect = true});
  const uint64_t table = kData + 0x8000;
  const uint16_t head =
      driver_.add_indirect_chain(table, {{kData, 16}, {kData + 0x100, 512, true}, {kData + 0x400, 1, true}});
  DescriptorChain chain = pop_chain(queue);
  EXPECT_EQ(chain.head, head);
  ASSERT_EQ(chain.readable.size(), 1u);
  ASSERT_EQ(chain.writable.size(), 2u);
  EXPECT_EQ(chain.writable_length(), 513u);
  ASSERT_TRUE(queue.push_used(head, 513).has_value());
  EXPECT_EQ(driver_.used_element(0).id, head);
}

TEST_F(PopTest, IndirectTableLongerThanTheQueue) {
  // The table's own length bounds it, not the ring size (2.7.5.3).
  Virtqueue queue = make_queue({.indirect = true});
  std::vector<Segment> segments;
  for (int i = 0; i < 3 * kSize; ++i) segments.push_back({kData + 0x10ull * i, 0x10});
  driver_.add_indirect_chain(kData + 0x8000, segments);
  EXPECT_EQ(pop_chain(queue).readable.size(), 3u * kSize);
}

TEST_F(PopTest, IndirectTableFollowingDirectDescriptors) {
  // 2.7.5.3.2: "zero or more normal chained descriptors followed by a single
  // descriptor with flags&VIRTQ_DESC_F_INDIRECT".
  Virtqueue queue = make_queue({.indirect = true});
  const uint64_t table = kData + 0x8000;
  driver_.write_table(table,
                      {{kData + 0x100, 32, ring::kDescFlagNext, 1}, {kData + 0x200, 64, ring::kDescFlagWrite, 0}});
  driver_.write_descriptor(2, {kData, 16, ring::kDescFlagNext, 5});
  // The WRITE flag on the indirect descriptor itself is ignored (2.7.5.3.2).
  driver_.write_descriptor(5, {table, 32, ring::kDescFlagIndirect | ring::kDescFlagWrite, 0});
  driver_.publish(2);
  DescriptorChain chain = pop_chain(queue);
  EXPECT_EQ(chain.head, 2);
  ASSERT_EQ(chain.readable.size(), 2u);
  EXPECT_EQ(raw(chain.readable[0].address), kData);
  EXPECT_EQ(raw(chain.readable[1].address), kData + 0x100);
  ASSERT_EQ(chain.writable.size(), 1u);
}

TEST_F(PopTest, ManyChainsInFlightReturnedOutOfOrder) {
  Virtqueue queue = make_queue();
  std::vector<uint16_t> heads;
  for (int i = 0; i < 4; ++i)
    heads.push_back(driver_.add_chain({{kData + 0x1000ull * i, 8}, {kData + 0x1000ull * i + 8, 8, true}}));
  std::vector<uint16_t> popped;
  for (int i = 0; i < 4; ++i) popped.push_back(pop_chain(queue).head);
  EXPECT_EQ(popped, heads);
  EXPECT_EQ(queue.in_flight(), 4);
  ASSERT_TRUE(queue.push_used(heads[2], 1).has_value());
  ASSERT_TRUE(queue.push_used(heads[0], 2).has_value());
  EXPECT_EQ(driver_.used_element(0).id, heads[2]);
  EXPECT_EQ(driver_.used_element(1).id, heads[0]);
  EXPECT_EQ(driver_.used_element(1).len, 2u);
  EXPECT_EQ(driver_.used_idx(), 2);
  EXPECT_EQ(queue.in_flight(), 2);
}

TEST_F(PopTest, AvailIdxExactlyQueueSizeAheadIsAccepted) {
  Virtqueue queue = make_queue();
  for (uint16_t i = 0; i < kSize; ++i) driver_.add_chain({{kData + 0x10ull * i, 0x10}});
  for (uint16_t i = 0; i < kSize; ++i) EXPECT_EQ(pop_chain(queue).head, i);
  EXPECT_EQ(queue.in_flight(), kSize);
}

TEST_F(PopTest, IndicesWrapPast65535) {
  // 2.7.6: idx "wraps naturally" at 65536; the ring slot is idx mod size.
  Virtqueue queue = make_queue();
  uint32_t total = 0;
  while (total < 70'000) {
    std::vector<uint16_t> heads;
    for (int i = 0; i < 3; ++i, ++total) heads.push_back(driver_.add_chain({{kData + 8ull * i, 8, true}}));
    for (uint16_t head : heads) {
      DescriptorChain chain = pop_chain(queue);
      ASSERT_EQ(chain.head, head);
      ASSERT_TRUE(queue.push_used(chain.head, static_cast<uint32_t>(total)).has_value());
    }
    const uint16_t used = driver_.used_idx();
    ASSERT_EQ(used, static_cast<uint16_t>(total));
    ASSERT_EQ(driver_.used_element(static_cast<uint16_t>(used - 1)).id, heads.back());
    ASSERT_EQ(driver_.used_element(static_cast<uint16_t>(used - 1)).len, total);
  }
  EXPECT_EQ(queue.last_avail_idx(), static_cast<uint16_t>(total));
  EXPECT_EQ(queue.used_idx(), static_cast<uint16_t>(total));
  EXPECT_EQ(queue.in_flight(), 0);
  EXPECT_TRUE(ram_.guards_intact());
}

TEST_F(PopTest, PushUsedRejectsHeadOutOfRange) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{kData, 8}});
  pop_chain(queue);
  const auto before = ram_.snapshot();
  auto pushed = queue.push_used(kSize, 0);
  ASSERT_FALSE(pushed.has_value());
  EXPECT_EQ(pushed.error().code, Errc::invalid_argument);
  EXPECT_FALSE(queue.push_used(0xFFFF, 0).has_value());
  EXPECT_TRUE(ram_.snapshot() == before);
  EXPECT_EQ(queue.in_flight(), 1);
}

TEST_F(PopTest, PushUsedRejectsNothingInFlight) {
  Virtqueue queue = make_queue();
  const auto before = ram_.snapshot();
  auto pushed = queue.push_used(0, 0);
  ASSERT_FALSE(pushed.has_value());
  EXPECT_EQ(pushed.error().code, Errc::invalid_argument);
  EXPECT_TRUE(ram_.snapshot() == before);
  EXPECT_EQ(queue.used_idx(), 0);
}

}  // namespace
}  // namespace keel::virtio::testing
