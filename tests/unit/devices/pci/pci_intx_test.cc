#include "devices/pci/pci_intx.h"

#include <gtest/gtest.h>

#include "tests/support/fakes.h"

namespace keel::devices {
namespace {

using namespace pci_reg;
using keel::testing::FakeIrqLine;

uint16_t status(const PciConfigSpace& config) {
  uint16_t value = 0;
  config.read(kStatus, std::as_writable_bytes(std::span(&value, 1)));
  return value;
}

void write_command(PciConfigSpace& config, uint16_t value) {
  config.write(kCommand, std::as_bytes(std::span(&value, 1)));
}

TEST(PciConfigSpaceIntx, InterruptStatusIsReadOnlyAndShownInEveryRead) {
  PciConfigSpace config(PciIdentity{.interrupt_pin = 1});
  EXPECT_EQ(status(config) & kStatusInterrupt, 0);
  config.set_interrupt_status(true);
  EXPECT_TRUE(config.interrupt_status());
  EXPECT_EQ(status(config) & kStatusInterrupt, kStatusInterrupt);
  EXPECT_EQ(config.read_dword(kCommand) >> 16 & kStatusInterrupt, kStatusInterrupt);
  uint8_t byte = 0;
  config.read(kStatus, std::as_writable_bytes(std::span(&byte, 1)));
  EXPECT_EQ(byte & kStatusInterrupt, kStatusInterrupt);
  // Neither a plain write nor a write-1-to-clear touches it.
  const uint16_t ones = 0xFFFF;
  config.write(kStatus, std::as_bytes(std::span(&ones, 1)));
  EXPECT_EQ(status(config) & kStatusInterrupt, kStatusInterrupt);
  config.set_interrupt_status(false);
  EXPECT_EQ(status(config) & kStatusInterrupt, 0);
}

TEST(PciConfigSpaceIntx, InterruptDisableFollowsTheCommandRegister) {
  PciConfigSpace config(PciIdentity{.interrupt_pin = 1});
  EXPECT_FALSE(config.intx_disabled());
  write_command(config, kCommandIntxDisable);
  EXPECT_TRUE(config.intx_disabled());
  write_command(config, kCommandMemory);
  EXPECT_FALSE(config.intx_disabled());
  config.set_dword(kCommand, kCommandIntxDisable);
  EXPECT_TRUE(config.intx_disabled());
}

TEST(PciIntx, LineFollowsConditionAndInterruptDisable) {
  PciConfigSpace config(PciIdentity{.interrupt_pin = 1});
  PciIntx intx(config);
  auto line = std::make_shared<FakeIrqLine>();
  intx.set_asserted(true);  // before connect: status only
  EXPECT_TRUE(config.interrupt_status());
  intx.connect(line);
  EXPECT_TRUE(line->level()) << "connect drives the current level";
  write_command(config, kCommandIntxDisable);
  intx.config_written();
  EXPECT_FALSE(line->level());
  EXPECT_TRUE(config.interrupt_status()) << "status shows the condition even while disabled";
  write_command(config, 0);
  intx.config_written();
  EXPECT_TRUE(line->level());
  EXPECT_EQ(line->rising_edges(), 2);
  intx.set_asserted(true);  // no change: no new edge
  EXPECT_EQ(line->rising_edges(), 2);
  intx.reset();
  EXPECT_FALSE(line->level());
  EXPECT_FALSE(config.interrupt_status());
  EXPECT_FALSE(intx.asserted());
}

}  // namespace
}  // namespace keel::devices
