// Machine reset of the UART: every register reads as on a freshly built
// one (same reads in the same order, since some reads clear bits), both
// FIFOs and pending host input are gone, the IRQ line is low.
#include <vector>

#include "uart_fixture.h"

namespace keel::devices::uart_test {
namespace {

std::vector<uint8_t> register_reads(Uart8250& uart) {
  const auto in = [&uart](uint64_t reg) {
    std::byte b{0x5a};
    uart.read(reg, std::span<std::byte>(&b, 1));
    return std::to_integer<uint8_t>(b);
  };
  const auto out = [&uart](uint64_t reg, uint8_t value) {
    const std::byte b{value};
    uart.write(reg, std::span<const std::byte>(&b, 1));
  };
  std::vector<uint8_t> reads{in(kIer), in(kIir), in(kLcr), in(kMcr), in(kLsr), in(kMsr), in(kScr), in(kData)};
  const uint8_t lcr = in(kLcr);
  out(kLcr, lcr | kLcrDlab);
  reads.push_back(in(0));  // divisor latch low
  reads.push_back(in(1));  // divisor latch high
  out(kLcr, lcr);
  return reads;
}

TEST_F(UartTest, ResetReadsLikeAFreshUart) {
  auto fresh_irq = std::make_shared<testing::FakeIrqLine>();
  Uart8250 fresh{fresh_irq, std::make_shared<testing::RecordingSink>()};

  out(kLcr, kLcrDlab);
  out(0, 0x01);  // 115200 baud
  out(1, 0x00);
  out(kLcr, 0x1b);  // 8E1
  out(kFcr, 0xc7);  // FIFOs on, trigger 14
  out(kMcr, kMcrDtr | kMcrRts | kMcrOut2);
  out(kScr, 0x55);
  out(kIer, kIerRx | kIerThre | kIerLine | kIerModem);
  host_sends("hello");
  ASSERT_TRUE(irq->level());
  ASSERT_NE(register_reads(uart), register_reads(fresh));

  uart.reset();
  EXPECT_FALSE(irq->level());
  EXPECT_EQ(register_reads(uart), register_reads(fresh));
  EXPECT_EQ(in(kLsr) & kLsrDr, 0) << "received bytes survived the reset";
  // The UART works after the reset: new input arrives.
  host_sends("x");
  EXPECT_EQ(drain(), "x");
}

}  // namespace
}  // namespace keel::devices::uart_test
