// Notification suppression in both directions (virtio 1.2, 2.7.7, 2.7.10):
// the driver's NO_INTERRUPT flag and used_event, the device's NO_NOTIFY flag
// and avail_event.
#include "tests/unit/virtio/core/queue_fixture.h"

namespace keel::virtio::testing {
namespace {

using NotifyTest = QueueTest;

// Pops one chain made available by the driver and gives it back.
void complete_one(FakeDriver& driver, Virtqueue& queue) {
  driver.add_chain({{FakeDriver::kDataStart, 8, true}});
  auto popped = queue.pop();
  ASSERT_TRUE(popped.has_value() && popped->has_value());
  ASSERT_TRUE(queue.push_used((*popped)->head, 8).has_value());
}

TEST_F(NotifyTest, NoInterruptWhenNothingWasUsed) {
  Virtqueue queue = make_queue();
  EXPECT_FALSE(queue.needs_interrupt());
  Virtqueue event_queue = make_queue({.event_idx = true});
  EXPECT_FALSE(event_queue.needs_interrupt());
}

TEST_F(NotifyTest, InterruptAfterUsedWithoutSuppression) {
  Virtqueue queue = make_queue();
  complete_one(driver_, queue);
  EXPECT_TRUE(queue.needs_interrupt());
  // The window resets: no new used buffers, no new interrupt.
  EXPECT_FALSE(queue.needs_interrupt());
  complete_one(driver_, queue);
  complete_one(driver_, queue);
  EXPECT_TRUE(queue.needs_interrupt());
}

TEST_F(NotifyTest, AvailFlagNoInterruptSuppresses) {
  Virtqueue queue = make_queue();
  driver_.set_avail_flags(ring::kAvailFlagNoInterrupt);
  complete_one(driver_, queue);
  EXPECT_FALSE(queue.needs_interrupt());
  driver_.set_avail_flags(0);
  complete_one(driver_, queue);
  EXPECT_TRUE(queue.needs_interrupt());
}

TEST_F(NotifyTest, AvailFlagIgnoredWithEventIdx) {
  Virtqueue queue = make_queue({.event_idx = true});
  driver_.set_avail_flags(ring::kAvailFlagNoInterrupt);
  driver_.set_used_event(0);  // "interrupt me when used.idx passes 0"
  complete_one(driver_, queue);
  EXPECT_TRUE(queue.needs_interrupt());
}

TEST_F(NotifyTest, UsedEventSuppressesUntilPassed) {
  Virtqueue queue = make_queue({.event_idx = true});
  driver_.set_used_event(0);
  complete_one(driver_, queue);  // used.idx 0 -> 1 passes 0
  EXPECT_TRUE(queue.needs_interrupt());

  driver_.set_used_event(4);  // wants an interrupt once entry 4 is used (idx becomes 5)
  complete_one(driver_, queue);
  complete_one(driver_, queue);  // idx 3
  EXPECT_FALSE(queue.needs_interrupt());
  complete_one(driver_, queue);  // idx 4: entry 4 not yet used
  EXPECT_FALSE(queue.needs_interrupt());
  complete_one(driver_, queue);  // idx 5
  EXPECT_TRUE(queue.needs_interrupt());
  complete_one(driver_, queue);  // idx 6: event 4 already passed in an earlier window
  EXPECT_FALSE(queue.needs_interrupt());
}

TEST_F(NotifyTest, UsedEventPassedWithinOneBatch) {
  Virtqueue queue = make_queue({.event_idx = true});
  driver_.set_used_event(2);
  for (int i = 0; i < 6; ++i) complete_one(driver_, queue);  // 0 -> 6 in one window
  EXPECT_TRUE(queue.needs_interrupt());
}

TEST_F(NotifyTest, UsedEventAcrossIndexWrap) {
  Virtqueue queue = make_queue({.event_idx = true});
  driver_.set_used_event(0xFFFF);  // suppress for a long time
  for (int i = 0; i < 0xFFFE; ++i) {
    complete_one(driver_, queue);
    ASSERT_FALSE(queue.needs_interrupt()) << i;
  }
  complete_one(driver_, queue);  // used.idx 0xFFFE -> 0xFFFF: entry 0xFFFE, not yet
  EXPECT_FALSE(queue.needs_interrupt());
  complete_one(driver_, queue);  // -> 0x0000: entry 0xFFFF used
  EXPECT_TRUE(queue.needs_interrupt());
}

TEST_F(NotifyTest, SetNotificationsTogglesNoNotifyFlag) {
  Virtqueue queue = make_queue();
  ASSERT_TRUE(queue.set_notifications(false).has_value());
  EXPECT_EQ(driver_.used_flags(), ring::kUsedFlagNoNotify);
  ASSERT_TRUE(queue.set_notifications(true).has_value());
  EXPECT_EQ(driver_.used_flags(), 0);
  EXPECT_TRUE(ram_.guards_intact());
}

TEST_F(NotifyTest, EventIdxLeavesUsedFlagsAlone) {
  Virtqueue queue = make_queue({.event_idx = true});
  ASSERT_TRUE(queue.set_notifications(false).has_value());
  EXPECT_EQ(driver_.used_flags(), 0);
}

TEST_F(NotifyTest, SetNotificationsWritesAvailEvent) {
  Virtqueue queue = make_queue({.event_idx = true});
  ASSERT_TRUE(queue.set_notifications(false).has_value());
  for (int i = 0; i < 3; ++i) complete_one(driver_, queue);
  // Disabled: avail_event stays where it was while the device drains.
  EXPECT_EQ(driver_.avail_event(), 0);
  ASSERT_TRUE(queue.set_notifications(true).has_value());
  EXPECT_EQ(driver_.avail_event(), 3);  // notify when entry 3 is made available
}

TEST_F(NotifyTest, PopAdvancesAvailEventWhileEnabled) {
  Virtqueue queue = make_queue({.event_idx = true});
  complete_one(driver_, queue);
  EXPECT_EQ(driver_.avail_event(), 1);
  complete_one(driver_, queue);
  EXPECT_EQ(driver_.avail_event(), 2);
}

TEST_F(NotifyTest, NoEventFieldsWrittenWithoutEventIdx) {
  Virtqueue queue = make_queue();
  complete_one(driver_, queue);
  ASSERT_TRUE(queue.set_notifications(true).has_value());
  EXPECT_EQ(driver_.avail_event(), 0);
}

}  // namespace
}  // namespace keel::virtio::testing
