// A hostile driver: one test per malformed ring or chain. Each one checks
// that pop() reports an Error and touched nothing (guest RAM unchanged,
// guard bytes intact, the chain not consumed) — see QueueTest::expect_pop_fails.
#include "tests/unit/virtio/core/queue_fixture.h"

namespace keel::virtio::testing {
namespace {

using MalformedTest = QueueTest;
constexpr uint16_t kNext = ring::kDescFlagNext;
constexpr uint16_t kWrite = ring::kDescFlagWrite;
constexpr uint16_t kIndirect = ring::kDescFlagIndirect;

TEST_F(MalformedTest, AvailIdxMoreThanQueueSizeAhead) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{kData, 8}});
  driver_.set_avail_idx(kSize + 1);
  expect_pop_fails(queue, Errc::malformed);
  driver_.set_avail_idx(0xFFFF);  // "behind" the device: also more than size ahead mod 2^16
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, AvailIdxTooFarAheadOfMovedLastAvail) {
  Virtqueue queue = make_queue();
  for (int i = 0; i < 3; ++i) {
    driver_.add_chain({{kData, 8}});
    const DescriptorChain chain = pop_chain(queue);
    ASSERT_TRUE(queue.push_used(chain.head, 0).has_value());
  }
  // avail.idx - last_avail (mod 2^16) is what counts, not avail.idx itself.
  driver_.set_avail_idx(static_cast<uint16_t>(queue.last_avail_idx() + kSize + 1));
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, MoreChainsInFlightThanDescriptors) {
  // A correct driver cannot have more than `size` chains outstanding; one
  // that republishes heads the device still holds could grow in_flight
  // without bound.
  Virtqueue queue = make_queue();
  for (uint16_t i = 0; i < kSize; ++i) driver_.add_chain({{kData, 8}});
  for (uint16_t i = 0; i < kSize; ++i) pop_chain(queue);
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, HeadIndexOutOfRange) {
  Virtqueue queue = make_queue();
  driver_.publish(kSize);
  expect_pop_fails(queue, Errc::out_of_bounds);
}

TEST_F(MalformedTest, HeadIndexFarOutOfRange) {
  Virtqueue queue = make_queue();
  driver_.publish(0xFFFF);
  expect_pop_fails(queue, Errc::out_of_bounds);
}

TEST_F(MalformedTest, NextIndexOutOfRange) {
  Virtqueue queue = make_queue();
  driver_.write_descriptor(0, {kData, 8, kNext, kSize});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::out_of_bounds);
}

TEST_F(MalformedTest, ChainLoop) {
  Virtqueue queue = make_queue();
  driver_.write_descriptor(3, {kData, 8, kNext, 5});  // a -> b -> a
  driver_.write_descriptor(5, {kData + 8, 8, kNext, 3});
  driver_.publish(3);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, SelfLoop) {
  Virtqueue queue = make_queue();
  driver_.write_descriptor(1, {kData, 8, kNext | kWrite, 1});
  driver_.publish(1);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, ChainLongerThanQueue) {
  Virtqueue queue = make_queue();
  for (uint16_t i = 0; i < kSize; ++i)
    driver_.write_descriptor(i, {kData + 0x10ull * i, 0x10, kNext, static_cast<uint16_t>((i + 1) % kSize)});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, NestedIndirect) {
  Virtqueue queue = make_queue({.indirect = true});
  const uint64_t inner = kData + 0x9000;
  const uint64_t outer = kData + 0x8000;
  driver_.write_table(inner, {{kData, 8, 0, 0}});
  driver_.write_table(outer, {{kData, 8, kNext, 1}, {inner, 16, kIndirect, 0}});
  driver_.write_descriptor(0, {outer, 32, kIndirect, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, IndirectWithNext) {
  Virtqueue queue = make_queue({.indirect = true});
  const uint64_t table = kData + 0x8000;
  driver_.write_table(table, {{kData, 8, 0, 0}});
  driver_.write_descriptor(0, {table, 16, kIndirect | kNext, 1});
  driver_.write_descriptor(1, {kData + 8, 8, 0, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, IndirectWithoutFeature) {
  Virtqueue queue = make_queue({.indirect = false});
  driver_.add_indirect_chain(kData + 0x8000, {{kData, 8}});
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, IndirectTableLengthNotMultipleOf16) {
  Virtqueue queue = make_queue({.indirect = true});
  const uint64_t table = kData + 0x8000;
  driver_.write_table(table, {{kData, 8, 0, 0}, {kData, 8, 0, 0}});
  driver_.write_descriptor(0, {table, 24, kIndirect, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, IndirectTableLengthZero) {
  Virtqueue queue = make_queue({.indirect = true});
  driver_.write_descriptor(0, {kData + 0x8000, 0, kIndirect, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, IndirectTableTooLarge) {
  Virtqueue queue = make_queue({.indirect = true});
  driver_.write_descriptor(0, {kData, 16 * (ring::kMaxQueueSize + 1), kIndirect, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, IndirectTableOutsideRam) {
  Virtqueue queue = make_queue({.indirect = true});
  driver_.write_descriptor(0, {kRamSize - 16, 32, kIndirect, 0});  // second entry sticks out
  driver_.publish(0);
  expect_pop_fails(queue, Errc::out_of_bounds);
}

TEST_F(MalformedTest, IndirectTableWraps) {
  Virtqueue queue = make_queue({.indirect = true});
  driver_.write_descriptor(0, {0xFFFF'FFFF'FFFF'FFF0, 32, kIndirect, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::overflow);
}

TEST_F(MalformedTest, IndirectNextOutOfRange) {
  Virtqueue queue = make_queue({.indirect = true});
  const uint64_t table = kData + 0x8000;
  // next = 2 is inside the queue but outside this 2-entry table.
  driver_.write_table(table, {{kData, 8, kNext, 1}, {kData + 8, 8, kNext, 2}, {kData, 8, 0, 0}});
  driver_.write_descriptor(0, {table, 32, kIndirect, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::out_of_bounds);
}

TEST_F(MalformedTest, IndirectLoop) {
  Virtqueue queue = make_queue({.indirect = true});
  const uint64_t table = kData + 0x8000;
  driver_.write_table(table, {{kData, 8, kNext, 1}, {kData + 8, 8, kNext, 0}});
  driver_.write_descriptor(0, {table, 32, kIndirect, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, BufferEndsOutsideRam) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{kData, 8}, {kRamSize - 8, 9, true}});
  expect_pop_fails(queue, Errc::out_of_bounds);
}

TEST_F(MalformedTest, BufferStartsOutsideRam) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{kRamSize, 1}});
  expect_pop_fails(queue, Errc::out_of_bounds);
}

TEST_F(MalformedTest, BufferInIndirectTableOutsideRam) {
  Virtqueue queue = make_queue({.indirect = true});
  driver_.add_indirect_chain(kData + 0x8000, {{kData, 8}, {0x4000'0000, 4096, true}});
  expect_pop_fails(queue, Errc::out_of_bounds);
}

TEST_F(MalformedTest, BufferWrapsAddressSpace) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{0xFFFF'FFFF'FFFF'FF00, 0x200, true}});
  expect_pop_fails(queue, Errc::overflow);
}

TEST_F(MalformedTest, TotalLengthOver4GiB) {
  // 4096 readable buffers of 1 MiB (all the same RAM) make exactly 4 GiB,
  // one byte more than a chain may carry (2.7.4).
  GuardedGuestMemory ram(2 << 20);
  FakeDriver driver(ram, kSize);
  auto queue = Virtqueue::create(ram.memory(), driver.config(), {.indirect = true}, kSize);
  ASSERT_TRUE(queue.has_value());
  const uint64_t table = 1 << 20;
  std::vector<Descriptor> entries;
  for (uint16_t i = 0; i < 4096; ++i) entries.push_back({0, 1 << 20, kNext, static_cast<uint16_t>(i + 1)});
  entries.back().flags = 0;
  driver.write_table(table, entries);
  driver.write_descriptor(0, {table, 16 * 4096, kIndirect, 0});
  driver.publish(0);
  const auto before = ram.snapshot();
  auto popped = queue->pop();
  ASSERT_FALSE(popped.has_value());
  EXPECT_EQ(popped.error().code, Errc::overflow);
  EXPECT_TRUE(ram.snapshot() == before);
  EXPECT_EQ(queue->in_flight(), 0);

  // One byte less is the largest chain there is.
  driver.write_table(table + 16 * 4095, {{0, (1 << 20) - 1, 0, 0}});
  auto largest = queue->pop();
  ASSERT_TRUE(largest.has_value()) << largest.error().what;
  ASSERT_TRUE(largest->has_value());
  EXPECT_EQ((*largest)->readable_length(), 0xFFFF'FFFFull);
}

TEST_F(MalformedTest, ReadableAfterWritable) {
  Virtqueue queue = make_queue();
  driver_.add_chain({{kData, 8}, {kData + 8, 8, true}, {kData + 16, 8}});
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, ReadableAfterWritableInsideIndirectTable) {
  Virtqueue queue = make_queue({.indirect = true});
  driver_.add_indirect_chain(kData + 0x8000, {{kData, 8, true}, {kData + 8, 8}});
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, ReadableInIndirectTableAfterWritableDirect) {
  Virtqueue queue = make_queue({.indirect = true});
  const uint64_t table = kData + 0x8000;
  driver_.write_table(table, {{kData, 8, 0, 0}});
  driver_.write_descriptor(0, {kData + 8, 8, kWrite | kNext, 1});
  driver_.write_descriptor(1, {table, 16, kIndirect, 0});
  driver_.publish(0);
  expect_pop_fails(queue, Errc::malformed);
}

TEST_F(MalformedTest, QueueStaysBrokenUntilRecreated) {
  // The chain is not consumed: a retry sees the same error (the transport
  // sets DEVICE_NEEDS_RESET instead of skipping it).
  Virtqueue queue = make_queue();
  driver_.publish(kSize);
  expect_pop_fails(queue, Errc::out_of_bounds);
  expect_pop_fails(queue, Errc::out_of_bounds);
}

}  // namespace
}  // namespace keel::virtio::testing
