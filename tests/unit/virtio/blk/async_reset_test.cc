// Reset with I/O the backend cannot cancel (issue 9): it used to wait for
// every such request under the device lock — and, through the PCI_CFG
// window, under the host bridge's. Now a reset returns at once; the old
// requests finish on the event loop, their results are dropped, and the
// last one finishes the reset. First on the device with a fake context,
// then through the real transport (VirtioPciDevice), by BAR and by PCI_CFG.
#include "tests/unit/virtio/blk/virtio_blk_fixture.h"
#include "virtio/pci/virtio_pci_device.h"
#include "virtio/pci/virtio_pci_layout.h"

namespace keel::virtio::blk {
namespace {

namespace vp = virtio::pci;
namespace st = virtio::status;
constexpr uint8_t kUp = st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk;

TEST_F(VirtioBlkTest, ResetReturnsWhileUncancellableIoIsHeldAndDropsItsResults) {
  auto backend = std::make_unique<HoldingBackend>();
  HoldingBackend& disk = *backend;
  disk.cancellable = false;  // as reads the kernel is already copying
  open_device(false, kAllFeatures, std::move(backend));
  std::vector<Request> reads;
  for (int i = 0; i < 8; ++i) reads.push_back(request(request_type::kIn, i, 512, true, false));
  driver.publish();
  kick();
  ASSERT_EQ(disk.held(), 8u);
  {
    std::lock_guard guard(context->lock());
    EXPECT_FALSE(device->reset());  // not finished, and it did not wait
    EXPECT_FALSE(device->reset());  // a second 0: still pending, no second cancel
    EXPECT_FALSE(device->activate(*context));  // no new generation yet
  }
  EXPECT_EQ(disk.cancels, 1);
  EXPECT_EQ(disk.finished_by_waiting, 0);
  EXPECT_EQ(disk.held(), 8u);
  EXPECT_EQ(device->requests_in_flight(), 8u);
  // The old queue is not served any more.
  request(request_type::kIn, 9, 512, true);
  kick();
  EXPECT_EQ(disk.held(), 8u);
  poller.fire(event_fd);  // a wake-up with nothing finished changes nothing
  EXPECT_EQ(context->resets_finished, 0);

  disk.finish_all();  // the reads end on their own
  poller.fire(event_fd);
  EXPECT_EQ(context->resets_finished, 1);
  EXPECT_EQ(device->requests_in_flight(), 0u);
  EXPECT_EQ(device->bytes_in_flight(), 0u);
  EXPECT_EQ(driver.used_idx(), 0);  // nothing of the old generation reached the guest
  for (const Request& made : reads) EXPECT_EQ(status_of(made), 0xFF);
  {
    std::lock_guard guard(context->lock());
    EXPECT_TRUE(device->activate(*context));
  }
}

// The device behind the real transport: the driver's view.
class VirtioBlkPciResetTest : public VirtioBlkTest {
 protected:
  void SetUp() override {
    VirtioBlkTest::SetUp();
    if (IsSkipped()) return;
    auto backend = std::make_unique<HoldingBackend>();
    disk = backend.get();
    disk->cancellable = false;
    event_fd = backend->event_fd();
    device = std::make_shared<VirtioBlk>(std::move(backend),
                                         BlkOptions{kDiskSectors, false, "keel-serial-1", max_bytes_in_flight}, poller);
    pci = std::make_unique<VirtioPciDevice>(device, guest.memory(), interrupts, registrar, poller);
  }

  void set_common(uint16_t offset, size_t size, uint64_t value) {
    std::array<std::byte, 8> bytes{};
    for (size_t i = 0; i < size; ++i) bytes[i] = std::byte(value >> (8 * i));
    pci->bar_write(vp::kVirtioBar, vp::kCommonCfgOffset + offset, std::span(bytes).first(size));
  }
  uint8_t bar_status() {
    std::array<std::byte, 1> byte{};
    pci->bar_read(vp::kVirtioBar, vp::kCommonCfgOffset + vp::common::kDeviceStatus, byte);
    return std::to_integer<uint8_t>(byte[0]);
  }
  // device_status through the PCI_CFG window (4.1.4.9), as a driver
  // without BAR access would (and under the host bridge's lock in keel).
  void select_status_window() {
    const uint16_t cap = pci->capability_offsets().pci_cfg;
    cfg_write(cap + vp::cap::kBar, 1, vp::kVirtioBar);
    cfg_write(cap + vp::cap::kOffset, 4, vp::kCommonCfgOffset + vp::common::kDeviceStatus);
    cfg_write(cap + vp::cap::kLength, 4, 1);
  }
  void cfg_write(uint16_t offset, size_t size, uint32_t value) {
    std::array<std::byte, 4> bytes{};
    for (size_t i = 0; i < size; ++i) bytes[i] = std::byte(value >> (8 * i));
    pci->config_write(offset, std::span(bytes).first(size));
  }
  uint16_t window() const { return pci->capability_offsets().pci_cfg + vp::cap::kPciCfgData; }
  void set_status(uint8_t value) {
    if (!through_window) {
      set_common(vp::common::kDeviceStatus, 1, value);
      return;
    }
    select_status_window();
    cfg_write(window(), 1, value);
  }
  uint8_t status() {
    if (!through_window) return bar_status();
    select_status_window();
    std::array<std::byte, 1> byte{};
    pci->config_read(window(), byte);
    return std::to_integer<uint8_t>(byte[0]);
  }

  // 3.1.1 with the FakeDriver's rings.
  void initialise() {
    set_status(st::kAcknowledge);
    set_status(st::kAcknowledge | st::kDriver);
    set_common(vp::common::kDriverFeatureSelect, 4, 0);
    set_common(vp::common::kDriverFeature, 4, feature::kFlush);
    set_common(vp::common::kDriverFeatureSelect, 4, 1);
    set_common(vp::common::kDriverFeature, 4, virtio::feature::kVersion1 >> 32);
    set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
    set_common(vp::common::kQueueSelect, 2, 0);
    set_common(vp::common::kQueueSize, 2, kQueueSize);
    set_common(vp::common::kQueueDesc, 8, FakeDriver::kDescTable);
    set_common(vp::common::kQueueDriver, 8, FakeDriver::kAvailRing);
    set_common(vp::common::kQueueDevice, 8, FakeDriver::kUsedRing);
    set_common(vp::common::kQueueEnable, 2, 1);
    set_status(kUp);
  }
  void doorbell() { poller.fire(pci->doorbell_eventfd(0)); }

  // The whole story, by BAR or by PCI_CFG.
  void pending_reset_story() {
    initialise();
    ASSERT_EQ(status(), kUp);
    std::vector<Request> reads;
    for (int i = 0; i < 8; ++i) reads.push_back(request(request_type::kIn, i, 512, true, false));
    driver.publish();
    doorbell();
    ASSERT_EQ(disk->held(), 8u);

    set_status(0);  // returns while all eight are held
    EXPECT_EQ(disk->finished_by_waiting, 0);
    EXPECT_EQ(disk->held(), 8u);
    EXPECT_TRUE(pci->reset_pending());
    EXPECT_EQ(status(), kUp);  // the driver keeps polling
    set_status(st::kAcknowledge);  // re-initialising too early: refused
    EXPECT_EQ(status(), kUp);
    request(request_type::kIn, 9, 512, true);
    doorbell();  // the old queue is not served
    EXPECT_EQ(disk->held(), 8u);

    disk->finish_all();
    poller.fire(event_fd);  // the event loop reaps the last of them
    EXPECT_FALSE(pci->reset_pending());
    EXPECT_EQ(status(), 0);
    EXPECT_EQ(driver.used_idx(), 0);  // nothing of the old generation
    for (const Request& made : reads) EXPECT_EQ(status_of(made), 0xFF);
    EXPECT_EQ(device->requests_in_flight(), 0u);

    // A new generation works and serves requests.
    driver.restart();
    initialise();
    ASSERT_EQ(status(), kUp);
    Request fresh = request(request_type::kIn, 3, 512, true);
    doorbell();
    ASSERT_EQ(disk->held(), 1u);
    disk->finish_all();
    poller.fire(event_fd);
    EXPECT_EQ(driver.used_idx(), 1);
    EXPECT_EQ(status_of(fresh), status::kOk);
  }

  bool through_window = false;
  HoldingBackend* disk = nullptr;
  keel::testing::FakeInterruptController interrupts;
  keel::testing::FakeDoorbellRegistrar registrar;
  std::unique_ptr<VirtioPciDevice> pci;  // destroyed before the device and the poller
};

TEST_F(VirtioBlkPciResetTest, AStatusZeroWriteDoesNotWaitForInFlightIo) { pending_reset_story(); }

TEST_F(VirtioBlkPciResetTest, AStatusZeroWriteThroughPciCfgDoesNotWaitEither) {
  through_window = true;
  pending_reset_story();
}

// keel exiting with a reset pending: the transport waits (bounded) for the
// old requests, so the device never calls back into a destroyed context.
TEST_F(VirtioBlkPciResetTest, TeardownWaitsForAPendingReset) {
  initialise();
  for (int i = 0; i < 4; ++i) request(request_type::kIn, i, 512, true, false);
  driver.publish();
  doorbell();
  set_status(0);
  ASSERT_TRUE(pci->reset_pending());
  pci.reset();
  EXPECT_EQ(disk->finished_by_waiting, 4);
  EXPECT_EQ(device->requests_in_flight(), 0u);
}

}  // namespace
}  // namespace keel::virtio::blk
