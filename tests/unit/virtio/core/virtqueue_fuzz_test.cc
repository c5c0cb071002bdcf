// Randomized hostile rings: garbage descriptors, tables and avail entries,
// biased towards the edges (indices around the queue size, addresses around
// the end of RAM and 2^64, every flag combination). pop() must never crash,
// and every buffer it returns must lie in guest RAM with the chain's rules
// holding. Deterministic seed, so a failure reproduces.
#include <random>

#include "tests/unit/virtio/core/queue_fixture.h"

namespace keel::virtio::testing {
namespace {

class FuzzQueueTest : public QueueTest {
 protected:
  std::mt19937_64 random_{0x6b65656c};  // "keel"

  uint64_t pick(uint64_t below) { return std::uniform_int_distribution<uint64_t>(0, below - 1)(random_); }

  uint64_t address() {
    switch (pick(5)) {
      case 0:
        return pick(kRamSize);
      case 1:
        return kRamSize - pick(64);
      case 2:
        return 0xFFFF'FFFF'FFFF'FFFF - pick(64);
      case 3:
        return kData + 16 * pick(64);  // likely inside an indirect table region
      default:
        return random_();
    }
  }
  uint32_t length() {
    switch (pick(5)) {
      case 0:
        return 0;
      case 1:
        return static_cast<uint32_t>(16 * pick(8));
      case 2:
        return static_cast<uint32_t>(random_());
      default:
        return static_cast<uint32_t>(pick(4096));
    }
  }
  uint16_t index(uint16_t size) {
    return pick(4) == 0 ? static_cast<uint16_t>(random_()) : static_cast<uint16_t>(pick(size + 1));
  }
  Descriptor descriptor(uint16_t size) {
    return Descriptor{address(), length(), static_cast<uint16_t>(pick(4) == 0 ? random_() : pick(8)), index(size)};
  }

  void check_chain(const DescriptorChain& chain) {
    ASSERT_LT(chain.head, kSize);
    uint64_t total = 0;
    for (const auto* list : {&chain.readable, &chain.writable}) {
      for (const GuestBuffer& buffer : *list) {
        ASSERT_GT(buffer.length, 0u);
        ASSERT_TRUE(ram_.memory().contains(buffer.address, buffer.length));
        total += buffer.length;
      }
    }
    ASSERT_LE(total, 0xFFFF'FFFFull);
  }
};

TEST_F(FuzzQueueTest, GarbageRingsNeverEscapeGuestRam) {
  int chains = 0;
  int errors = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    const QueueFeatures features{.event_idx = pick(2) == 1, .indirect = pick(4) != 0};
    auto created = Virtqueue::create(ram_.memory(), driver_.config(), features, 256);
    ASSERT_TRUE(created.has_value());
    Virtqueue queue = std::move(*created);
    driver_.set_avail_idx(0);

    for (uint16_t i = 0; i < kSize; ++i) driver_.write_descriptor(i, descriptor(kSize));
    // A few small indirect tables at kData where descriptors may point.
    std::vector<Descriptor> table;
    for (int i = 0; i < 64; ++i) table.push_back(descriptor(8));
    driver_.write_table(kData, table);
    for (uint16_t slot = 0; slot < kSize; ++slot) driver_.publish(index(kSize));
    driver_.set_avail_idx(static_cast<uint16_t>(pick(4) == 0 ? random_() : pick(kSize + 2)));

    // Drain until empty or an error, completing what pop() hands out.
    for (int step = 0; step < 2 * kSize; ++step) {
      auto popped = queue.pop();
      if (!popped) {
        ++errors;
        break;
      }
      if (!popped->has_value()) break;
      ++chains;
      ASSERT_NO_FATAL_FAILURE(check_chain(**popped));
      ASSERT_TRUE(queue.push_used((*popped)->head, static_cast<uint32_t>(pick(1 << 20))).has_value());
      (void)queue.needs_interrupt();
    }
    ASSERT_TRUE(ram_.guards_intact()) << "iteration " << iteration;
  }
  // The generator must exercise both outcomes, or the test proves little.
  EXPECT_GT(chains, 100);
  EXPECT_GT(errors, 100);
}

}  // namespace
}  // namespace keel::virtio::testing
