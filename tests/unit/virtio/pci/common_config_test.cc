// The common configuration structure (virtio 1.2, 4.1.4.3): feature pages
// and negotiation rules, queue registers and when they may change, MSI-X
// vector mapping, and accesses of the wrong width.
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

namespace keel::testing {
namespace {

using namespace vp::common;
namespace feature = virtio::feature;

uint64_t offered_by(const FakeVirtioDevice& fake) {
  return fake.features | feature::kVersion1 | feature::kRingEventIdx | feature::kRingIndirectDesc;
}

TEST_F(VirtioPciTest, DeviceFeaturesComeInTwoPages) {
  const uint64_t offered = offered_by(*fake);
  set_common(kDeviceFeatureSelect, 4, 0);
  EXPECT_EQ(common(kDeviceFeature, 4), offered & 0xFFFF'FFFF);
  set_common(kDeviceFeatureSelect, 4, 1);
  EXPECT_EQ(common(kDeviceFeatureSelect, 4), 1u);
  EXPECT_EQ(common(kDeviceFeature, 4), offered >> 32);
  EXPECT_NE(common(kDeviceFeature, 4) & 1, 0u);  // VERSION_1 is bit 32
  set_common(kDeviceFeatureSelect, 4, 2);
  EXPECT_EQ(common(kDeviceFeature, 4), 0u);
}

TEST_F(VirtioPciTest, DriverFeaturesOnlyBetweenDriverAndFeaturesOk) {
  write_driver_features(~0ull);  // before DRIVER: ignored
  EXPECT_EQ(read_driver_features(), 0u);

  set_status(st::kAcknowledge | st::kDriver);
  write_driver_features(~0ull);
  // Bits the device did not offer are dropped.
  EXPECT_EQ(read_driver_features(), offered_by(*fake));
  write_driver_features(feature::kVersion1 | FakeVirtioDevice::kFeatureA);
  EXPECT_EQ(read_driver_features(), feature::kVersion1 | FakeVirtioDevice::kFeatureA);

  set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  ASSERT_NE(status() & st::kFeaturesOk, 0);
  write_driver_features(feature::kVersion1);  // frozen now
  EXPECT_EQ(read_driver_features(), feature::kVersion1 | FakeVirtioDevice::kFeatureA);
  ASSERT_EQ(fake->accept_calls.size(), 1u);
  EXPECT_EQ(fake->accept_calls[0], feature::kVersion1 | FakeVirtioDevice::kFeatureA);
}

TEST_F(VirtioPciTest, FeaturesOkRefusedWithoutVersion1) {
  negotiate(FakeVirtioDevice::kFeatureA);
  EXPECT_EQ(status(), st::kAcknowledge | st::kDriver);
  EXPECT_TRUE(fake->accept_calls.empty());
  // Still negotiating: the driver may try again.
  write_driver_features(feature::kVersion1);
  set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  EXPECT_EQ(status(), st::kAcknowledge | st::kDriver | st::kFeaturesOk);
}

TEST_F(VirtioPciTest, FeaturesOkRefusedByTheDevice) {
  fake->accept = false;
  negotiate();
  EXPECT_EQ(status() & st::kFeaturesOk, 0);
  EXPECT_EQ(fake->accept_calls.size(), 1u);
}

TEST_F(VirtioPciTest, NegotiatedFeaturesReachTheDevice) {
  activate(feature::kVersion1 | feature::kRingEventIdx | FakeVirtioDevice::kFeatureB);
  ASSERT_NE(fake->context, nullptr);
  EXPECT_EQ(fake->context->negotiated_features(),
            feature::kVersion1 | feature::kRingEventIdx | FakeVirtioDevice::kFeatureB);
}

TEST_F(VirtioPciTest, QueueCountSizesAndNotifyOffsets) {
  EXPECT_EQ(common(kNumQueues, 2), 2u);
  set_common(kQueueSelect, 2, 1);
  EXPECT_EQ(common(kQueueSelect, 2), 1u);
  EXPECT_EQ(common(kQueueSize, 2), 256u);  // starts at the maximum
  EXPECT_EQ(common(kQueueNotifyOff, 2), 1u);
  EXPECT_EQ(common(kQueueMsixVector, 2), virtio::kNoVector);
  EXPECT_EQ(common(kQueueEnable, 2), 0u);
  // A queue that does not exist reads size 0 and takes no writes.
  set_common(kQueueSelect, 2, 7);
  EXPECT_EQ(common(kQueueSize, 2), 0u);
  set_common(kQueueSize, 2, 8);
  set_common(kQueueEnable, 2, 1);
  EXPECT_EQ(common(kQueueSize, 2), 0u);
  EXPECT_EQ(common(kQueueEnable, 2), 0u);
  EXPECT_EQ(common(kQueueNotifyOff, 2), 0u);
}

TEST_F(VirtioPciTest, QueueSizeMustBeAPowerOfTwoUpToTheMaximum) {
  set_common(kQueueSelect, 2, 0);
  set_common(kQueueSize, 2, 64);
  EXPECT_EQ(common(kQueueSize, 2), 64u);
  for (uint64_t bad : {0u, 100u, 512u, 0xFFFFu}) {
    set_common(kQueueSize, 2, bad);
    EXPECT_EQ(common(kQueueSize, 2), 64u) << bad;
  }
}

TEST_F(VirtioPciTest, RingAddressesAreWrittenAsHalvesOrWhole) {
  set_common(kQueueSelect, 2, 0);
  set_common(kQueueDesc, 4, 0x8765'4320);
  set_common(kQueueDesc + 4, 4, 0x1);
  EXPECT_EQ(common(kQueueDesc, 8), 0x1'8765'4320u);
  EXPECT_EQ(common(kQueueDesc + 4, 4), 1u);
  set_common(kQueueDriver, 8, 0x2'0000'1000);
  EXPECT_EQ(common(kQueueDriver, 4), 0x1000u);
  EXPECT_EQ(common(kQueueDriver + 4, 4), 2u);
  set_common(kQueueDevice + 4, 4, 3);
  EXPECT_EQ(common(kQueueDevice, 8), 0x3'0000'0000u);
}

TEST_F(VirtioPciTest, QueueRegistersFreezeOnceEnabled) {
  set_common(kQueueSelect, 2, 0);
  set_common(kQueueSize, 2, 16);
  set_common(kQueueDesc, 4, 0x1000);
  set_common(kQueueEnable, 2, 1);
  EXPECT_EQ(common(kQueueEnable, 2), 1u);
  set_common(kQueueSize, 2, 32);
  set_common(kQueueDesc, 4, 0x2000);
  set_common(kQueueEnable, 2, 0);  // not a way to disable
  EXPECT_EQ(common(kQueueSize, 2), 16u);
  EXPECT_EQ(common(kQueueDesc, 4), 0x1000u);
  EXPECT_EQ(common(kQueueEnable, 2), 1u);
  // The vector only routes interrupts and stays writable.
  set_common(kQueueMsixVector, 2, 1);
  EXPECT_EQ(common(kQueueMsixVector, 2), 1u);
  // Queue 1 is unaffected.
  set_common(kQueueSelect, 2, 1);
  set_common(kQueueSize, 2, 32);
  EXPECT_EQ(common(kQueueSize, 2), 32u);
}

TEST_F(VirtioPciTest, QueueRegistersFreezeAfterDriverOk) {
  activate();
  set_common(kQueueSelect, 2, 1);
  const uint64_t size = common(kQueueSize, 2);
  set_common(kQueueSize, 2, 4);
  EXPECT_EQ(common(kQueueSize, 2), size);
}

TEST_F(VirtioPciTest, VectorsBeyondTheTableReadBackNoVector) {
  // 2 queues + config: vectors 0..2.
  set_common(kConfigMsixVector, 2, 2);
  EXPECT_EQ(common(kConfigMsixVector, 2), 2u);
  set_common(kConfigMsixVector, 2, 3);
  EXPECT_EQ(common(kConfigMsixVector, 2), virtio::kNoVector);
  set_common(kQueueSelect, 2, 0);
  set_common(kQueueMsixVector, 2, 0);
  EXPECT_EQ(common(kQueueMsixVector, 2), 0u);
  set_common(kQueueMsixVector, 2, 0x8000);
  EXPECT_EQ(common(kQueueMsixVector, 2), virtio::kNoVector);
}

TEST_F(VirtioPciTest, AccessesOfTheWrongWidthDoNotDecode) {
  set_common(kDeviceFeatureSelect, 4, 1);
  EXPECT_EQ(common(kDeviceFeature, 2), 0u);      // 32-bit field, 16-bit read
  EXPECT_EQ(common(kDeviceFeature + 1, 1), 0u);  // inside a field
  EXPECT_EQ(common(kNumQueues, 4), 0u);           // spans two fields
  EXPECT_EQ(common(kQueueDesc + 2, 4), 0u);       // misaligned half
  set_common(kQueueSelect, 1, 1);                  // 16-bit field, byte write
  EXPECT_EQ(common(kQueueSelect, 2), 0u);
  set_common(kDeviceStatus, 2, st::kAcknowledge);  // 8-bit field, word write
  EXPECT_EQ(status(), 0);
  // Beyond the structure, and beyond BAR2.
  EXPECT_EQ(common(kSize, 4), 0u);
  EXPECT_EQ(common(0x800, 8), 0u);
  EXPECT_EQ(bar_read(vp::kVirtioBar, 0x4000, 4), 0u);
  EXPECT_EQ(bar_read(vp::kVirtioBar, 0x0FFE, 4), 0u);  // crosses into the ISR page
  EXPECT_EQ(bar_read(1, 0, 4), 0u);
  EXPECT_EQ(bar_read(5, 0, 4), 0u);
}

}  // namespace
}  // namespace keel::testing
