// VirtioNet behind the real virtio-pci transport: FEATURES_OK follows the
// feature dependencies, the config space is the device's, and reschedule()
// re-arms the queue's doorbell so the loop comes back after a budget.
#include <poll.h>
#include <sys/eventfd.h>

#include <gtest/gtest.h>

#include "tests/unit/virtio/net/fake_net_backend.h"
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"
#include "virtio/net/net_spec.h"
#include "virtio/net/virtio_net.h"

namespace keel::testing {
namespace {

namespace vn = virtio::net;

bool readable(int fd) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, 0) == 1;
}

class NetPciTest : public VirtioPciTest {
 protected:
  static constexpr uint16_t kSize = 256;  // two descriptors per command
  void SetUp() override {
    net = std::make_shared<vn::VirtioNet>(std::make_unique<vn::testing::FakeNetBackend>(),
                                          vn::NetOptions{{0x52, 0x54, 0, 1, 2, 3}, 9000});
    pci = std::make_unique<virtio::VirtioPciDevice>(net, guest.memory(), interrupts, registrar, poller);
  }
  uint64_t ring(uint16_t queue) const { return 0x20000 + queue * 0x4000; }
  void activate_net(uint64_t features) {
    negotiate(features);
    for (uint16_t q = 0; q < vn::kQueueCount; ++q) setup_queue(q, ring(q), ring(q) + 0x1000, ring(q) + 0x2000, kSize);
    set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
  }
  // `count` control commands (PROMISC off), each header+data then ack.
  void queue_commands(uint16_t count) {
    const uint64_t data = 0x80000;
    const uint8_t command[3] = {vn::ctrl::kClassRx, vn::ctrl::kRxPromisc, 0};
    std::memcpy(guest.host() + data, command, sizeof(command));
    const uint64_t desc = ring(vn::kCtrlQueue);
    for (uint16_t i = 0; i < count; ++i) {
      const uint16_t first = static_cast<uint16_t>(2 * i);
      write_desc(desc, first, data, 3, 1 /* NEXT */, static_cast<uint16_t>(first + 1));
      write_desc(desc, static_cast<uint16_t>(first + 1), 0x90000 + i, 1, 2 /* WRITE */, 0);
      std::memcpy(guest.host() + desc + 0x1000 + 4 + 2 * i, &first, 2);
    }
    std::memcpy(guest.host() + desc + 0x1000 + 2, &count, 2);
  }
  void write_desc(uint64_t table, uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    std::byte* at = guest.host() + table + 16 * index;
    std::memcpy(at, &addr, 8);
    std::memcpy(at + 8, &len, 4);
    std::memcpy(at + 12, &flags, 2);
    std::memcpy(at + 14, &next, 2);
  }
  uint16_t used_idx(uint16_t queue) {
    uint16_t idx;
    std::memcpy(&idx, guest.host() + ring(queue) + 0x2000 + 2, 2);
    return idx;
  }

  std::shared_ptr<vn::VirtioNet> net;
};

TEST_F(NetPciTest, FeaturesOkRefusedWhenADependencyIsMissing) {
  negotiate(virtio::feature::kVersion1 | vn::feature::kCtrlRx);  // CTRL_RX without CTRL_VQ
  EXPECT_EQ(status() & st::kFeaturesOk, 0);
  set_status(0);
  negotiate(virtio::feature::kVersion1 | vn::feature::kCtrlVq | vn::feature::kCtrlRx | vn::feature::kMrgRxbuf);
  EXPECT_NE(status() & st::kFeaturesOk, 0);
}

TEST_F(NetPciTest, ConfigSpaceThroughTheBar) {
  EXPECT_EQ(bar_read(vp::kVirtioBar, vp::kDeviceCfgOffset + 0, 4), 0x01005452u);
  EXPECT_EQ(bar_read(vp::kVirtioBar, vp::kDeviceCfgOffset + vn::config::kStatus, 2), vn::kStatusLinkUp);
  EXPECT_EQ(bar_read(vp::kVirtioBar, vp::kDeviceCfgOffset + vn::config::kMtu, 2), 9000u);
}

TEST_F(NetPciTest, RescheduleRearmsTheDoorbellAfterTheBudget) {
  activate_net(virtio::feature::kVersion1 | vn::feature::kCtrlVq | vn::feature::kCtrlRx);
  ASSERT_NE(status() & st::kDriverOk, 0);
  constexpr uint16_t kCommands = vn::VirtioNet::kCtrlBudget + 6;
  queue_commands(kCommands);
  const int fd = pci->doorbell_eventfd(vn::kCtrlQueue);
  ASSERT_TRUE(poller.fire(fd));
  EXPECT_EQ(used_idx(vn::kCtrlQueue), vn::VirtioNet::kCtrlBudget);
  EXPECT_TRUE(readable(fd)) << "the device asked to be called again";
  ASSERT_TRUE(poller.fire(fd));
  EXPECT_EQ(used_idx(vn::kCtrlQueue), kCommands);
  EXPECT_FALSE(readable(fd));
  EXPECT_FALSE(net->rx_filter().promiscuous());
}

}  // namespace
}  // namespace keel::testing
