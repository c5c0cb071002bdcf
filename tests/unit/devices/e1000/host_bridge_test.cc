// The e1000 on the PCI host bridge, as the machine builder adds it: BARs
// assigned and decoding on the buses, INTA# wired to the IOAPIC input the
// bridge chose, registers reachable through MMIO and I/O space.
#include <gtest/gtest.h>

#include "devices/pci/pci_host_bridge.h"
#include "devices/pci/pci_layout.h"
#include "keel/bus.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/devices/e1000/e1000_test_support.h"

namespace keel::devices::e1000::test {
namespace {

TEST(E1000OnHostBridge, BarsDecodeAndIntxIsWired) {
  Bus pio{"pio"};
  Bus mmio{"mmio"};
  keel::testing::FakeInterruptController interrupts;
  keel::testing::TestGuestMemory memory(1 << 20);
  keel::testing::FakeClock clock;
  auto bridge = PciHostBridge::create(pio, mmio, nullptr, &interrupts);
  bridge->install();
  auto nic = std::make_shared<E1000>(std::make_unique<FakeBackend>(), kMac, memory.memory(), clock, clock);
  const uint8_t slot = bridge->add_device(nic);

  const auto bars = nic->decoded_bars();
  ASSERT_TRUE(bars[kMmioBar]);
  ASSERT_TRUE(bars[kIoBar]);
  EXPECT_FALSE(bars[kMmioBar]->io);
  EXPECT_EQ(bars[kMmioBar]->size, kMmioBarSize);
  EXPECT_TRUE(bars[kIoBar]->io);

  // STATUS through BAR0 on the MMIO bus.
  uint32_t status_value = 0;
  ASSERT_TRUE(mmio.read(bars[kMmioBar]->address + reg::kStatus, std::as_writable_bytes(std::span(&status_value, 1))));
  EXPECT_TRUE(status_value & status::kLu);
  // RAL0 through IOADDR/IODATA on the PIO bus.
  const uint32_t ral0 = reg::kRa;
  ASSERT_TRUE(pio.write(bars[kIoBar]->address, std::as_bytes(std::span(&ral0, 1))));
  uint32_t value = 0;
  ASSERT_TRUE(pio.read(bars[kIoBar]->address + 4, std::as_writable_bytes(std::span(&value, 1))));
  EXPECT_EQ(value, 0x12005452u);

  // INTA# reaches the line of the IOAPIC input the bridge wired.
  const uint32_t gsi = pci_layout::intx_gsi(slot, 1);
  auto line = interrupts.line(gsi);
  ASSERT_TRUE(line);
  const uint32_t lsc = irq::kLsc;
  ASSERT_TRUE(mmio.write(bars[kMmioBar]->address + reg::kIms, std::as_bytes(std::span(&lsc, 1))));
  ASSERT_TRUE(mmio.write(bars[kMmioBar]->address + reg::kIcs, std::as_bytes(std::span(&lsc, 1))));
  EXPECT_TRUE(line->level());
  ASSERT_TRUE(mmio.read(bars[kMmioBar]->address + reg::kIcr, std::as_writable_bytes(std::span(&value, 1))));
  EXPECT_EQ(value, lsc);
  EXPECT_FALSE(line->level());
}

}  // namespace
}  // namespace keel::devices::e1000::test
