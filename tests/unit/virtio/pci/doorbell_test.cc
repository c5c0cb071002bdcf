// Queue doorbells (virtio 1.2, 4.1.4.4 / 4.1.5.2): eventfds on the poller,
// ioeventfd registrations that follow BAR moves, and the MMIO fallback.
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

namespace keel::testing {
namespace {

devices::PciBarRegions bar2_at(uint64_t address) {
  devices::PciBarRegions regions{};
  regions[0] = devices::PciBarRegion{false, 0xC000'0000, 0x1000};
  regions[2] = devices::PciBarRegion{false, address, 0x4000};
  return regions;
}

bool readable(int fd) {
  uint64_t count = 0;
  return ::read(fd, &count, sizeof(count)) == sizeof(count) && count > 0;
}

void kick(int fd) {
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
}

TEST_F(VirtioPciTest, EveryQueueHasAWatchedEventfd) {
  EXPECT_EQ(poller.size(), 2u);
  EXPECT_TRUE(poller.watching(pci->doorbell_eventfd(0)));
  EXPECT_TRUE(poller.watching(pci->doorbell_eventfd(1)));
  EXPECT_NE(pci->doorbell_eventfd(0), pci->doorbell_eventfd(1));
  EXPECT_EQ(pci->doorbell_eventfd(2), -1);
  EXPECT_TRUE(registrar.live().empty());  // nothing until the BAR decodes
}

TEST_F(VirtioPciTest, DoorbellsAreRegisteredAtTheNotifyAddresses) {
  pci->bars_changed(bar2_at(0xC000'4000));
  const auto live = registrar.live();
  ASSERT_EQ(live.size(), 2u);
  for (const DoorbellSpec& spec : live) {
    EXPECT_FALSE(spec.io);
    EXPECT_EQ(spec.length, 2u);
    EXPECT_FALSE(spec.datamatch.has_value());
    const uint16_t queue = spec.eventfd == pci->doorbell_eventfd(0) ? 0 : 1;
    EXPECT_EQ(spec.eventfd, pci->doorbell_eventfd(queue));
    EXPECT_EQ(spec.address, 0xC000'7000u + 4 * queue);
  }
  EXPECT_EQ(pci->registered_doorbells(), 2u);
}

TEST_F(VirtioPciTest, DoorbellsFollowTheBar) {
  pci->bars_changed(bar2_at(0xC000'4000));
  pci->bars_changed(bar2_at(0xD000'0000));
  auto live = registrar.live();
  ASSERT_EQ(live.size(), 2u);
  for (const DoorbellSpec& spec : live) EXPECT_GE(spec.address, 0xD000'3000u);
  // Another BAR of the function changed: the registrations stay.
  pci->bars_changed(bar2_at(0xD000'0000));
  EXPECT_EQ(registrar.live().size(), 2u);
  // Memory decode off: no doorbells.
  pci->bars_changed(devices::PciBarRegions{});
  EXPECT_TRUE(registrar.live().empty());
  EXPECT_EQ(pci->registered_doorbells(), 0u);
}

TEST_F(VirtioPciTest, EventfdDoorbellReachesTheDeviceAfterDriverOk) {
  activate();
  kick(pci->doorbell_eventfd(1));
  ASSERT_TRUE(poller.fire(pci->doorbell_eventfd(1)));
  EXPECT_EQ(fake->notified, std::vector<uint16_t>{1});
  EXPECT_FALSE(readable(pci->doorbell_eventfd(1)));  // the handler drained it
}

TEST_F(VirtioPciTest, DoorbellBeforeDriverOkIsDropped) {
  negotiate();
  setup_queue(0);
  kick(pci->doorbell_eventfd(0));
  poller.fire(pci->doorbell_eventfd(0));
  EXPECT_TRUE(fake->notified.empty());
}

TEST_F(VirtioPciTest, DoorbellOfADisabledQueueIsDropped) {
  negotiate();
  setup_queue(0);
  set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
  poller.fire(pci->doorbell_eventfd(1));
  EXPECT_TRUE(fake->notified.empty());
}

TEST_F(VirtioPciTest, FailedRegistrationFallsBackToMmio) {
  registrar.set_failing(true);
  pci->bars_changed(bar2_at(0xC000'4000));
  EXPECT_EQ(pci->registered_doorbells(), 0u);
  activate();
  bar_write(vp::kVirtioBar, vp::kNotifyOffset + 4, 2, 1);  // queue 1's doorbell as an MMIO exit
  EXPECT_EQ(pci->fallback_notifications(), 1u);
  ASSERT_TRUE(poller.fire(pci->doorbell_eventfd(1)));
  EXPECT_EQ(fake->notified, std::vector<uint16_t>{1});
  // Registration is retried on the next BAR change.
  registrar.set_failing(false);
  pci->bars_changed(bar2_at(0xC000'4000));
  EXPECT_EQ(pci->registered_doorbells(), 2u);
}

TEST_F(VirtioPciTest, FallbackSignalsTheEventfd) {
  bar_write(vp::kVirtioBar, vp::kNotifyOffset, 2, 0);
  EXPECT_TRUE(readable(pci->doorbell_eventfd(0)));
  EXPECT_FALSE(readable(pci->doorbell_eventfd(1)));
}

TEST_F(VirtioPciTest, NotifyWritesOutsideTheDoorbellsAreIgnored) {
  bar_write(vp::kVirtioBar, vp::kNotifyOffset + 2, 2, 0);   // between doorbells
  bar_write(vp::kVirtioBar, vp::kNotifyOffset + 8, 2, 2);   // queue 2 does not exist
  bar_write(vp::kVirtioBar, vp::kNotifyOffset + 0xFFC, 4, 0);
  EXPECT_EQ(pci->fallback_notifications(), 0u);
  EXPECT_FALSE(readable(pci->doorbell_eventfd(0)));
  EXPECT_EQ(bar_read(vp::kVirtioBar, vp::kNotifyOffset, 2), 0u);  // write-only
}

TEST_F(VirtioPciTest, DestructionStopsWatchingAndUnregisters) {
  pci->bars_changed(bar2_at(0xC000'4000));
  pci.reset();
  EXPECT_EQ(poller.size(), 0u);
  EXPECT_TRUE(registrar.live().empty());
}

// The loop thread handles doorbells while a vCPU thread resets and brings
// the device up again: every notification the device sees arrives with the
// lock held on a live, activated queue (checked by the fake under the lock),
// and neither side deadlocks.
TEST_F(VirtioPciTest, DoorbellsRaceWithResetAndActivation) {
  const int fd = pci->doorbell_eventfd(0);
  std::atomic<bool> stop{false};
  std::atomic<int> fires{0};
  std::thread loop([&] {
    while (!stop.load()) {
      kick(fd);
      poller.fire(fd);
      fires.fetch_add(1);
    }
  });
  for (int round = 0; round < 200; ++round) {
    activate();
    set_status(0);
  }
  stop.store(true);
  loop.join();
  EXPECT_EQ(fake->activations, 200);
  EXPECT_EQ(fake->resets, 200);
  EXPECT_LE(fake->notified.size(), static_cast<size_t>(fires.load()));
  for (uint16_t queue : fake->notified) EXPECT_EQ(queue, 0);
  EXPECT_EQ(fake->bad_notifications, 0);
}

}  // namespace
}  // namespace keel::testing
