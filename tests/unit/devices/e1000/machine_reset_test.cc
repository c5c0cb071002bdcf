// Machine reset of the e1000 (PciDevice::reset): registers read as on a
// freshly built device (the MAC from the EEPROM back in RAL0/RAH0), the
// configuration space too, INTx low.
#include <array>

#include "tests/unit/devices/e1000/e1000_test_support.h"

namespace keel::devices::e1000::test {
namespace {

constexpr uint32_t kRegistersChecked[] = {reg::kCtrl,  reg::kRctl,  reg::kTctl,   reg::kIms,    reg::kRdbal,
                                          reg::kRdlen, reg::kTdbal, reg::kLedctl, reg::kPba,    reg::kVet,
                                          reg::kRa,    reg::kRa + 4, reg::kItr,   reg::kFcttv};

class E1000MachineResetTest : public E1000Test {
 protected:
  std::vector<uint32_t> registers(E1000& device) {
    std::vector<uint32_t> values;
    for (uint32_t offset : kRegistersChecked) {
      uint32_t value = 0;
      device.bar_read(kMmioBar, offset, std::as_writable_bytes(std::span(&value, 1)));
      values.push_back(value);
    }
    return values;
  }
  std::array<uint32_t, 16> config(E1000& device) {
    std::array<uint32_t, 16> dwords{};
    for (uint16_t i = 0; i < dwords.size(); ++i) {
      device.config_read(static_cast<uint16_t>(4 * i), std::as_writable_bytes(std::span(&dwords[i], 1)));
    }
    return dwords;
  }
};

TEST_F(E1000MachineResetTest, RegistersAndConfigReadLikeAFreshDevice) {
  E1000 fresh(std::make_unique<FakeBackend>(), kMac, memory_.memory(), clock_, clock_);
  const uint32_t command = 0x0007;
  device_->config_write(0x04, std::as_bytes(std::span(&command, 1)));
  const uint32_t bar0 = 0xFEB0'0000;
  device_->config_write(0x10, std::as_bytes(std::span(&bar0, 1)));
  write(reg::kRa, 0x11223344);
  write(reg::kRdbal, 0x1000);
  write(reg::kRdlen, 0x1000);
  write(reg::kRctl, 0x0400'8002);
  write(reg::kIms, 0xFFFF'FFFF);
  write(reg::kIcs, 0x4);  // raise an interrupt cause: INTx asserts
  ASSERT_TRUE(line_->level());
  ASSERT_NE(registers(*device_), registers(fresh));

  device_->reset();
  EXPECT_FALSE(line_->level());
  EXPECT_FALSE(device_->intx_asserted());
  EXPECT_EQ(registers(*device_), registers(fresh));
  EXPECT_EQ(config(*device_), config(fresh));
}

}  // namespace
}  // namespace keel::devices::e1000::test
