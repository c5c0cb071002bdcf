// A GoogleTest fixture shared by the virtqueue tests: 1 MiB of guarded guest
// RAM, a fake driver for an 8-entry queue, and helpers that check a pop()
// failed without touching anything.
#pragma once

#include <gtest/gtest.h>

#include "tests/unit/virtio/core/fake_driver.h"
#include "virtio/core/virtio_spec.h"
#include "virtio/core/virtqueue.h"

namespace keel::virtio::testing {

class QueueTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kRamSize = 1 << 20;
  static constexpr uint16_t kSize = 8;
  static constexpr uint64_t kData = FakeDriver::kDataStart;

  QueueTest() : ram_(kRamSize), driver_(ram_, kSize) {}

  Virtqueue make_queue(QueueFeatures features = {}) {
    auto queue = Virtqueue::create(ram_.memory(), driver_.config(), features, 256);
    EXPECT_TRUE(queue.has_value()) << (queue ? "" : queue.error().what);
    return std::move(*queue);
  }

  // pop() must yield a chain; returns it.
  DescriptorChain pop_chain(Virtqueue& queue) {
    auto popped = queue.pop();
    EXPECT_TRUE(popped.has_value()) << (popped ? "" : popped.error().what);
    if (!popped || !popped->has_value()) {
      ADD_FAILURE() << "no chain available";
      return {};
    }
    return std::move(**popped);
  }

  // pop() must fail with `code`, leaving guest RAM, the guard bytes and the
  // queue's own state exactly as they were.
  void expect_pop_fails(Virtqueue& queue, Errc code) {
    const auto before = ram_.snapshot();
    const uint16_t last_avail = queue.last_avail_idx();
    const uint16_t in_flight = queue.in_flight();
    auto popped = queue.pop();
    ASSERT_FALSE(popped.has_value()) << "pop() accepted a malformed chain";
    EXPECT_EQ(popped.error().code, code) << popped.error().what;
    EXPECT_TRUE(ram_.snapshot() == before) << "a failed pop() wrote guest memory";
    EXPECT_TRUE(ram_.guards_intact());
    EXPECT_EQ(queue.last_avail_idx(), last_avail);
    EXPECT_EQ(queue.in_flight(), in_flight);
  }

  GuardedGuestMemory ram_;
  FakeDriver driver_;
};

}  // namespace keel::virtio::testing
