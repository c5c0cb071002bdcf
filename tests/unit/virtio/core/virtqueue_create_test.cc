// Virtqueue::create(): queue size and ring placement checks (virtio 1.2, 2.7).
#include "tests/unit/virtio/core/queue_fixture.h"

namespace keel::virtio::testing {
namespace {

using CreateTest = QueueTest;

Result<Virtqueue> create(GuardedGuestMemory& ram, QueueConfig config, QueueFeatures features = {},
                         uint16_t max_size = 256) {
  return Virtqueue::create(ram.memory(), config, features, max_size);
}

void expect_error(const Result<Virtqueue>& queue, Errc code) {
  ASSERT_FALSE(queue.has_value());
  EXPECT_EQ(queue.error().code, code) << queue.error().what;
}

TEST_F(CreateTest, AcceptsPowerOfTwoSizesUpToMax) {
  for (uint16_t size : {1, 2, 4, 128, 256}) {
    FakeDriver driver(ram_, size);
    auto queue = create(ram_, driver.config());
    ASSERT_TRUE(queue.has_value()) << size << ": " << queue.error().what;
    EXPECT_EQ(queue->size(), size);
    EXPECT_EQ(queue->in_flight(), 0);
    EXPECT_EQ(queue->last_avail_idx(), 0);
    EXPECT_EQ(queue->used_idx(), 0);
  }
}

TEST_F(CreateTest, AcceptsTheLargestQueue) {
  GuardedGuestMemory ram(2 << 20);
  FakeDriver driver(ram, 32768);
  EXPECT_TRUE(create(ram, driver.config(), {.event_idx = true, .indirect = true}, 32768).has_value());
}

TEST_F(CreateTest, RejectsSizeNotPowerOfTwo) {
  for (uint16_t size : {3, 6, 100, 255}) {
    QueueConfig config = driver_.config();
    config.size = size;
    expect_error(create(ram_, config), Errc::invalid_argument);
  }
}

TEST_F(CreateTest, RejectsSizeZero) {
  QueueConfig config = driver_.config();
  config.size = 0;
  expect_error(create(ram_, config), Errc::invalid_argument);
}

TEST_F(CreateTest, RejectsSizeAboveMax) {
  FakeDriver driver(ram_, 256);
  expect_error(create(ram_, driver.config(), {}, 128), Errc::invalid_argument);
}

TEST_F(CreateTest, RejectsBadMaxSize) {
  expect_error(create(ram_, driver_.config(), {}, 0), Errc::invalid_argument);
  expect_error(create(ram_, driver_.config(), {}, 96), Errc::invalid_argument);
  expect_error(create(ram_, driver_.config(), {}, 65535), Errc::invalid_argument);
}

TEST_F(CreateTest, RejectsMisalignedDescriptorTable) {
  for (uint64_t offset : {1, 2, 8}) {
    QueueConfig config = driver_.config();
    config.desc += offset;
    expect_error(create(ram_, config), Errc::invalid_argument);
  }
}

TEST_F(CreateTest, RejectsMisalignedAvailRing) {
  QueueConfig config = driver_.config();
  config.driver += 1;
  expect_error(create(ram_, config), Errc::invalid_argument);
}

TEST_F(CreateTest, RejectsMisalignedUsedRing) {
  for (uint64_t offset : {1, 2}) {
    QueueConfig config = driver_.config();
    config.device += offset;
    expect_error(create(ram_, config), Errc::invalid_argument);
  }
}

TEST_F(CreateTest, AcceptsMinimalAlignment) {
  QueueConfig config = driver_.config();
  config.desc += 16;
  config.driver += 2;
  config.device += 4;
  EXPECT_TRUE(create(ram_, config).has_value());
}

TEST_F(CreateTest, RejectsDescriptorTableOutsideRam) {
  QueueConfig config = driver_.config();
  config.desc = kRamSize - 16 * kSize + 16;  // last entry sticks out
  expect_error(create(ram_, config), Errc::out_of_bounds);
  config.desc = kRamSize;
  expect_error(create(ram_, config), Errc::out_of_bounds);
}

TEST_F(CreateTest, RejectsAvailRingOutsideRam) {
  QueueConfig config = driver_.config();
  config.driver = kRamSize - (4 + 2 * kSize);  // fits exactly without used_event
  EXPECT_TRUE(create(ram_, config).has_value());
  expect_error(create(ram_, config, {.event_idx = true}), Errc::out_of_bounds);
  config.driver = 0x1'0000'0000;
  expect_error(create(ram_, config), Errc::out_of_bounds);
}

TEST_F(CreateTest, RejectsUsedRingOutsideRam) {
  QueueConfig config = driver_.config();
  config.device = kRamSize - (4 + 8 * kSize);  // fits exactly without avail_event
  EXPECT_TRUE(create(ram_, config).has_value());
  expect_error(create(ram_, config, {.event_idx = true}), Errc::out_of_bounds);
  config.device = kRamSize + 0x1000;
  expect_error(create(ram_, config), Errc::out_of_bounds);
}

TEST_F(CreateTest, RejectsRingThatWrapsAddressSpace) {
  QueueConfig config = driver_.config();
  config.desc = 0xFFFF'FFFF'FFFF'FFF0;
  expect_error(create(ram_, config), Errc::overflow);
  config = driver_.config();
  config.device = 0xFFFF'FFFF'FFFF'FFFC;
  expect_error(create(ram_, config), Errc::overflow);
}

}  // namespace
}  // namespace keel::virtio::testing
