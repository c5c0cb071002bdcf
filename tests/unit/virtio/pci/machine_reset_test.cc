// Machine reset of a virtio-pci function (PciDevice::reset): the transport
// takes the path of a driver's status-0 write (the device reset, queues
// gone, INTx low), and configuration space and MSI-X read as on a fresh
// function; with I/O in flight it does not wait (reset_pending) and
// finishes when the device reports it.
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

#include "devices/pci/msix_capability.h"

namespace keel::testing {
namespace {

using namespace vp::common;
using devices::MsixCapability;

class VirtioMachineResetTest : public VirtioPciTest {
 protected:
  void SetUp() override {
    VirtioPciTest::SetUp();
    pci->connect_intx(line);
  }
  std::array<uint64_t, 64> config_dwords() {
    std::array<uint64_t, 64> dwords{};
    for (uint16_t i = 0; i < dwords.size(); ++i) dwords[i] = cfg_read(static_cast<uint16_t>(4 * i), 4);
    return dwords;
  }
  std::shared_ptr<FakeIrqLine> line = std::make_shared<FakeIrqLine>();
};

TEST_F(VirtioMachineResetTest, ResetsTransportConfigSpaceAndMsix) {
  const auto fresh = config_dwords();
  cfg_write(0x04, 2, 0x0006);  // memory decode, bus master
  cfg_write(0x10, 4, 0xFEB0'0000);
  cfg_write(0x3C, 1, 0x0B);
  program_msix_vector(0, 0x41);
  activate(virtio::feature::kVersion1 | FakeVirtioDevice::kFeatureA);
  offer_request(0);
  complete_request(0);  // ISR set; INTx asserted unless disabled
  enable_msix();
  ASSERT_NE(config_dwords(), fresh);

  pci->reset();
  EXPECT_EQ(fake->resets, 1);
  EXPECT_FALSE(pci->reset_pending());
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(read_isr(), 0);
  EXPECT_FALSE(line->level());
  EXPECT_EQ(config_dwords(), fresh);
  // MSI-X entries are masked with a zero message again.
  EXPECT_EQ(bar_read(vp::kMsixBar, vp::kMsixTableOffset + 8, 4), 0u);
  EXPECT_EQ(bar_read(vp::kMsixBar, vp::kMsixTableOffset + 12, 4) & MsixCapability::kEntryMasked, 1u);
  EXPECT_EQ(fake->context, nullptr);  // the device let go of the transport
  // A driver can bring it up again.
  activate();
  EXPECT_EQ(status(), st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
}

TEST_F(VirtioMachineResetTest, InFlightIoDoesNotBlockTheReset) {
  activate();
  fake->hold_reset = true;
  pci->reset();  // returns: nothing waits for the device
  EXPECT_TRUE(pci->reset_pending());
  {
    ASSERT_NE(fake->context, nullptr);
    virtio::VirtioContext* context = fake->context;
    std::lock_guard guard(context->lock());
    fake->finish_reset();
  }
  EXPECT_FALSE(pci->reset_pending());
  EXPECT_EQ(status(), 0);
}

}  // namespace
}  // namespace keel::testing
