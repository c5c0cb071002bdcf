// Used-buffer and configuration interrupts (virtio 1.2, 4.1.5.3-4.1.5.4):
// MSI-X vectors when enabled, otherwise ISR bits and the INTx line.
#include "tests/unit/virtio/pci/virtio_pci_fixture.h"

namespace keel::testing {
namespace {

using namespace vp::common;

class VirtioPciInterruptTest : public VirtioPciTest {
 protected:
  void SetUp() override {
    VirtioPciTest::SetUp();
    pci->connect_intx(line);
  }
  std::shared_ptr<FakeIrqLine> line = std::make_shared<FakeIrqLine>();
};

TEST_F(VirtioPciInterruptTest, UsedBuffersRaiseTheQueuesMsixVector) {
  ASSERT_EQ(interrupts.vector_count(), 3u);  // 2 queues + config
  program_msix_vector(1, 0x4041);
  enable_msix();
  set_common(kQueueSelect, 2, 0);
  set_common(kQueueMsixVector, 2, 1);
  activate();
  offer_request(0);
  complete_request(0);
  EXPECT_EQ(interrupts.vector(1).delivery_count(), 1u);
  EXPECT_EQ(interrupts.vector(1).deliveries()[0].message.data, 0x4041u);
  EXPECT_EQ(interrupts.vector(0).delivery_count(), 0u);
  EXPECT_FALSE(line->level());
  EXPECT_EQ(line->rising_edges(), 0);
  EXPECT_EQ(read_isr(), 0);  // the queue bit is an INTx-only thing
}

TEST_F(VirtioPciInterruptTest, NoVectorMeansNoInterrupt) {
  program_msix_vector(0, 0x30);
  enable_msix();
  activate();  // queue vectors stay NO_VECTOR
  offer_request(0);
  complete_request(0);
  for (size_t v = 0; v < interrupts.vector_count(); ++v) EXPECT_EQ(interrupts.vector(v).delivery_count(), 0u);
  EXPECT_FALSE(line->level());
}

TEST_F(VirtioPciInterruptTest, WithoutMsixUsedBuffersSetIsrAndRaiseIntx) {
  activate();
  offer_request(1);
  complete_request(1);
  EXPECT_TRUE(line->level());
  EXPECT_NE(cfg_read(devices::pci_reg::kStatus, 2) & (1u << 3), 0u);  // Interrupt Status
  EXPECT_EQ(read_isr(), vp::kIsrQueue);  // read clears ...
  EXPECT_FALSE(line->level());           // ... and lowers the line
  EXPECT_EQ(read_isr(), 0);
  EXPECT_EQ(line->rising_edges(), 1);
}

TEST_F(VirtioPciInterruptTest, DriverSuppressedInterruptsAreNotSent) {
  activate();
  offer_request(0, virtio::ring::kAvailFlagNoInterrupt);
  complete_request(0);
  EXPECT_FALSE(line->level());
  EXPECT_EQ(read_isr(), 0);
}

TEST_F(VirtioPciInterruptTest, InterruptDisableHoldsTheLineLow) {
  activate();
  const uint16_t command = static_cast<uint16_t>(cfg_read(devices::pci_reg::kCommand, 2));
  cfg_write(devices::pci_reg::kCommand, 2, command | devices::pci_reg::kCommandIntxDisable);
  offer_request(0);
  complete_request(0);
  EXPECT_FALSE(line->level());
  cfg_write(devices::pci_reg::kCommand, 2, command);
  EXPECT_TRUE(line->level());
  EXPECT_EQ(read_isr(), vp::kIsrQueue);
  EXPECT_FALSE(line->level());
}

TEST_F(VirtioPciInterruptTest, EnablingMsixReleasesAnAssertedLine) {
  activate();
  offer_request(0);
  complete_request(0);
  ASSERT_TRUE(line->level());
  enable_msix();  // PCI 3.0 6.8.2: no INTx while MSI-X is on
  EXPECT_FALSE(line->level());
}

TEST_F(VirtioPciInterruptTest, ConfigChangeBumpsGenerationAndInterrupts) {
  activate();
  const uint64_t generation = common(kConfigGeneration, 1);
  {
    std::lock_guard guard(fake->context->lock());
    fake->context->config_changed();
  }
  EXPECT_EQ(common(kConfigGeneration, 1), (generation + 1) & 0xFF);
  EXPECT_TRUE(line->level());
  EXPECT_EQ(read_isr(), vp::kIsrConfig);
  EXPECT_FALSE(line->level());
}

TEST_F(VirtioPciInterruptTest, ConfigChangeUsesTheConfigVector) {
  program_msix_vector(2, 0x55);
  enable_msix();
  set_common(kConfigMsixVector, 2, 2);
  activate();
  {
    std::lock_guard guard(fake->context->lock());
    fake->context->config_changed();
  }
  EXPECT_EQ(interrupts.vector(2).delivery_count(), 1u);
  EXPECT_FALSE(line->level());
}

TEST_F(VirtioPciInterruptTest, ResetClearsTheIsrAndLowersTheLine) {
  activate();
  offer_request(0);
  complete_request(0);
  ASSERT_TRUE(line->level());
  set_status(0);
  EXPECT_FALSE(line->level());
  EXPECT_EQ(read_isr(), 0);
}

TEST_F(VirtioPciInterruptTest, SignalForAQueueThatIsNotLiveDoesNothing) {
  negotiate();
  setup_queue(0);
  set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
  std::lock_guard guard(fake->context->lock());
  fake->context->signal_used(1);
  fake->context->signal_used(9);
  EXPECT_FALSE(line->level());
}

}  // namespace
}  // namespace keel::testing
