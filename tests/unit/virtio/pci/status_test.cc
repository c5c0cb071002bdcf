// The device status state machine (virtio 1.2, 2.1 and 3.1.1): activation
// at DRIVER_OK, reset, DEVICE_NEEDS_RESET for configurations Virtqueue
// rejects, and status writes that break the protocol.
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

namespace keel::testing {
namespace {

using namespace vp::common;
constexpr uint8_t kUp = st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk;

TEST_F(VirtioPciTest, DriverOkCreatesEnabledQueuesAndActivates) {
  negotiate();
  setup_queue(0);  // queue 1 stays disabled
  set_status(kUp);
  EXPECT_EQ(status(), kUp);
  EXPECT_EQ(fake->activations, 1);
  ASSERT_NE(fake->context, nullptr);
  std::lock_guard guard(fake->context->lock());
  ASSERT_NE(fake->context->queue(0), nullptr);
  EXPECT_EQ(fake->context->queue(0)->size(), kRingSize);
  EXPECT_EQ(fake->context->queue(1), nullptr);
  EXPECT_EQ(fake->context->queue(2), nullptr);
  EXPECT_EQ(&fake->context->memory(), &guest.memory());
}

TEST_F(VirtioPciTest, ResetReturnsEveryRegisterToItsInitialValue) {
  set_common(kConfigMsixVector, 2, 1);
  set_common(kQueueSelect, 2, 0);
  set_common(kQueueMsixVector, 2, 0);
  activate(virtio::feature::kVersion1 | FakeVirtioDevice::kFeatureA);
  set_status(0);
  EXPECT_EQ(fake->resets, 1);
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(common(kConfigMsixVector, 2), virtio::kNoVector);
  set_status(st::kAcknowledge | st::kDriver);
  EXPECT_EQ(read_driver_features(), 0u);
  for (uint16_t q = 0; q < 2; ++q) {
    set_common(kQueueSelect, 2, q);
    EXPECT_EQ(common(kQueueSize, 2), 256u);
    EXPECT_EQ(common(kQueueEnable, 2), 0u);
    EXPECT_EQ(common(kQueueMsixVector, 2), virtio::kNoVector);
    EXPECT_EQ(common(kQueueDesc, 8), 0u);
  }
  // And the device comes up again.
  set_status(0);
  activate();
  EXPECT_EQ(fake->activations, 2);
  EXPECT_EQ(status(), kUp);
}

TEST_F(VirtioPciTest, MisalignedRingAtDriverOkNeedsReset) {
  negotiate();
  setup_queue(0, desc_gpa(0) + 8, avail_gpa(0), used_gpa(0));  // desc must be 16-aligned
  setup_queue(1);
  set_status(kUp);
  EXPECT_EQ(status(), kUp | st::kDeviceNeedsReset);
  EXPECT_EQ(fake->activations, 0);
  // Doorbells are ignored until reset.
  poller.fire(pci->doorbell_eventfd(1));
  EXPECT_TRUE(fake->notified.empty());
  // The driver recovers with a reset.
  set_status(0);
  EXPECT_EQ(status(), 0);
  activate();
  EXPECT_EQ(status(), kUp);
  EXPECT_EQ(fake->activations, 1);
}

TEST_F(VirtioPciTest, RingOutsideGuestMemoryNeedsReset) {
  negotiate();
  setup_queue(0, 0xFFFF'FFFF'FFFF'FF00ull, avail_gpa(0), used_gpa(0));
  set_status(kUp);
  EXPECT_NE(status() & st::kDeviceNeedsReset, 0);
  EXPECT_EQ(fake->activations, 0);
}

TEST_F(VirtioPciTest, RefusedActivationNeedsReset) {
  fake->activate_ok = false;
  activate();
  EXPECT_EQ(status(), kUp | st::kDeviceNeedsReset);
  EXPECT_EQ(fake->activations, 1);
}

TEST_F(VirtioPciTest, DriverOkWithoutFeaturesOkIsIgnored) {
  set_status(st::kAcknowledge | st::kDriver);
  set_status(st::kAcknowledge | st::kDriver | st::kDriverOk);
  EXPECT_EQ(status(), st::kAcknowledge | st::kDriver);
  EXPECT_EQ(fake->activations, 0);
}

TEST_F(VirtioPciTest, StatusWritesThatClearBitsAreIgnored) {
  negotiate();
  set_status(st::kAcknowledge);
  EXPECT_EQ(status(), st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  // The driver cannot set DEVICE_NEEDS_RESET either.
  set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDeviceNeedsReset);
  EXPECT_EQ(status(), st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  // FAILED may be added at any point.
  set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kFailed);
  EXPECT_EQ(status(), st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kFailed);
}

TEST_F(VirtioPciTest, DeviceNeedsResetStopsNotificationsAndInterrupts) {
  auto line = std::make_shared<FakeIrqLine>();
  pci->connect_intx(line);
  activate();
  {
    std::lock_guard guard(fake->context->lock());
    fake->context->needs_reset("test");
  }
  EXPECT_NE(status() & st::kDeviceNeedsReset, 0);
  EXPECT_TRUE(line->level());
  EXPECT_EQ(read_isr(), vp::kIsrConfig);
  EXPECT_FALSE(line->level());
  poller.fire(pci->doorbell_eventfd(0));
  EXPECT_TRUE(fake->notified.empty());
  // Driver writes keep the bit until reset.
  set_status(kUp | st::kFailed);
  EXPECT_NE(status() & st::kDeviceNeedsReset, 0);
  set_status(0);
  EXPECT_EQ(status(), 0);
}

TEST_F(VirtioPciTest, DestructionResetsAnActiveDevice) {
  activate();
  pci.reset();
  EXPECT_EQ(fake->resets, 1);
  EXPECT_EQ(fake->context, nullptr);
}

}  // namespace
}  // namespace keel::testing
