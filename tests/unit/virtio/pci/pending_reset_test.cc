// A reset the device cannot finish at once (I/O it could not cancel, issue
// 9): writing 0 returns without waiting, device_status keeps reading its
// old value and re-initialisation is refused until the device reports the
// reset finished (virtio 1.2, 4.1.4.3.2: the driver waits for a read of 0).
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

namespace keel::testing {
namespace {

using namespace vp::common;
constexpr uint8_t kUp = st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk;

class PendingResetTest : public VirtioPciTest {
 protected:
  void SetUp() override {
    VirtioPciTest::SetUp();
    pci->connect_intx(line);
  }
  // The device's side of the end of a pending reset: from the event loop,
  // with the context lock held.
  void device_finishes_reset() {
    ASSERT_NE(fake->context, nullptr);
    virtio::VirtioContext* context = fake->context;
    std::lock_guard guard(context->lock());
    fake->finish_reset();
  }
  // The PCI_CFG window (4.1.4.9) onto a common config field.
  void select_common(uint16_t field, uint32_t length) {
    const uint16_t cap = pci->capability_offsets().pci_cfg;
    cfg_write(cap + vp::cap::kBar, 1, vp::kVirtioBar);
    cfg_write(cap + vp::cap::kOffset, 4, vp::kCommonCfgOffset + field);
    cfg_write(cap + vp::cap::kLength, 4, length);
  }
  uint16_t window() const { return pci->capability_offsets().pci_cfg + vp::cap::kPciCfgData; }

  std::shared_ptr<FakeIrqLine> line = std::make_shared<FakeIrqLine>();
};

TEST_F(PendingResetTest, StatusReadsNonZeroUntilTheDeviceFinishes) {
  set_common(kConfigMsixVector, 2, 1);
  activate(virtio::feature::kVersion1 | FakeVirtioDevice::kFeatureA);
  offer_request(0);
  complete_request(0);  // ISR bit 0 set, INTx asserted
  ASSERT_TRUE(line->level());
  fake->hold_reset = true;
  set_status(0);  // returns: nothing here waits for the device
  EXPECT_EQ(fake->resets, 1);
  EXPECT_TRUE(pci->reset_pending());
  EXPECT_EQ(status(), kUp);  // the old value: the driver keeps polling
  EXPECT_EQ(common(kConfigMsixVector, 2), 1u);
  {
    // The queues are gone at once: nothing can reach the used ring.
    std::lock_guard guard(fake->context->lock());
    EXPECT_EQ(fake->context->queue(0), nullptr);
    EXPECT_EQ(fake->context->queue(1), nullptr);
  }
  // Doorbells of the old generation are ignored.
  poller.fire(pci->doorbell_eventfd(0));
  EXPECT_TRUE(fake->notified.empty());

  device_finishes_reset();
  EXPECT_FALSE(pci->reset_pending());
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(common(kConfigMsixVector, 2), virtio::kNoVector);
  EXPECT_FALSE(line->level());  // de-asserted with the ISR cleared
  EXPECT_EQ(read_isr(), 0);
  set_status(st::kAcknowledge | st::kDriver);
  EXPECT_EQ(read_driver_features(), 0u);
}

TEST_F(PendingResetTest, ReinitialisationIsRefusedWhileTheResetIsPending) {
  activate();
  fake->hold_reset = true;
  set_status(0);
  ASSERT_TRUE(pci->reset_pending());
  // A driver that does not wait for 0: every step of 3.1.1 is refused.
  set_status(st::kAcknowledge);
  EXPECT_EQ(status(), kUp);
  // Writes that are allowed at any other time do not stick either.
  ASSERT_EQ(common(kDriverFeatureSelect, 4), 1u);  // where negotiate() left it
  set_common(kDriverFeatureSelect, 4, 0);
  EXPECT_EQ(common(kDriverFeatureSelect, 4), 1u);
  ASSERT_EQ(common(kQueueSelect, 2), 1u);  // where activate() left it
  set_common(kQueueSelect, 2, 0);
  EXPECT_EQ(common(kQueueSelect, 2), 1u);
  set_common(kConfigMsixVector, 2, 1);
  EXPECT_EQ(common(kConfigMsixVector, 2), virtio::kNoVector);
  set_status(kUp);
  set_status(0);  // a second 0 neither resets again nor finishes the first
  EXPECT_EQ(fake->resets, 1);
  EXPECT_EQ(fake->activations, 1);
  EXPECT_EQ(status(), kUp);

  device_finishes_reset();
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(common(kQueueSelect, 2), 0u);
  set_common(kQueueSelect, 2, 0);
  EXPECT_EQ(common(kQueueSize, 2), 256u);  // back to the device's maximum
  fake->hold_reset = false;
  activate();  // re-initialisation after the reset works
  EXPECT_EQ(status(), kUp);
  EXPECT_EQ(fake->activations, 2);
  offer_request(1);
  poller.fire(pci->doorbell_eventfd(1));
  EXPECT_EQ(fake->notified, std::vector<uint16_t>{1});
  EXPECT_EQ(fake->bad_notifications, 0);
}

TEST_F(PendingResetTest, TheSameThroughThePciCfgWindow) {
  activate();
  fake->hold_reset = true;
  select_common(kDeviceStatus, 1);
  cfg_write(window(), 1, 0);  // under the host bridge's lock in keel: must not wait
  EXPECT_TRUE(pci->reset_pending());
  EXPECT_EQ(cfg_read(window(), 1), kUp);
  cfg_write(window(), 1, st::kAcknowledge);  // refused
  EXPECT_EQ(cfg_read(window(), 1), kUp);
  device_finishes_reset();
  EXPECT_EQ(cfg_read(window(), 1), 0u);
  cfg_write(window(), 1, st::kAcknowledge);
  EXPECT_EQ(cfg_read(window(), 1), st::kAcknowledge);
}

TEST_F(PendingResetTest, TheDeviceStaysSilentWhileTheResetIsPending) {
  program_msix_vector(0, 0x50);
  enable_msix();
  set_common(kConfigMsixVector, 2, 0);
  activate();
  fake->hold_reset = true;
  set_status(0);
  {
    std::lock_guard guard(fake->context->lock());
    fake->context->needs_reset("late");  // from an old-generation completion
    fake->context->config_changed();
  }
  EXPECT_EQ(status(), kUp);  // no DEVICE_NEEDS_RESET added
  EXPECT_EQ(interrupts.vector(0).delivery_count(), 0u);
  device_finishes_reset();
  EXPECT_EQ(status(), 0);
}

TEST_F(PendingResetTest, TeardownWaitsForAPendingReset) {
  activate();
  fake->hold_reset = true;
  set_status(0);
  ASSERT_TRUE(pci->reset_pending());
  pci.reset();
  EXPECT_EQ(fake->waits_for_reset, 1);
  EXPECT_EQ(fake->context, nullptr);  // let go of the context before it went away
}

TEST_F(PendingResetTest, TeardownOfAnActiveDeviceWaitsWhenItsResetCannotFinish) {
  activate();
  fake->hold_reset = true;
  pci.reset();
  EXPECT_EQ(fake->resets, 1);
  EXPECT_EQ(fake->waits_for_reset, 1);
  EXPECT_EQ(fake->context, nullptr);
}

TEST_F(PendingResetTest, AResetThatFinishesAtOnceIsSynchronousAsBefore) {
  activate();
  set_status(0);
  EXPECT_FALSE(pci->reset_pending());
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(fake->waits_for_reset, 0);
}

}  // namespace
}  // namespace keel::testing
