// A guest may write anything to any register in any order: the model must
// never crash, and its invariants must hold throughout.
#include <random>

#include "tests/unit/devices/uart/uart_fixture.h"

namespace keel::devices::uart_test {
namespace {

TEST_F(UartTest, RandomAccessesKeepInvariants) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> reg_dist(0, 7);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  std::uniform_int_distribution<int> op_dist(0, 9);
  const size_t sizes[] = {1, 2, 4, 8};
  for (int step = 0; step < 50000; ++step) {
    const uint64_t reg = static_cast<uint64_t>(reg_dist(rng));
    const int op = op_dist(rng);
    if (op < 4) {
      out(reg, static_cast<uint8_t>(byte_dist(rng)));
    } else if (op < 7) {
      (void)in(reg);
    } else if (op == 7) {
      std::vector<std::byte> data(sizes[byte_dist(rng) % 4]);
      for (auto& b : data) b = std::byte{static_cast<uint8_t>(byte_dist(rng))};
      uart.write(reg, data);
    } else if (op == 8) {
      std::vector<std::byte> data(sizes[byte_dist(rng) % 4]);
      uart.read(reg, data);
    } else {
      host_sends_count(static_cast<size_t>(byte_dist(rng) % 40), static_cast<uint8_t>(step));
    }

    // Invariants: the transmitter is always empty, IER keeps 4 bits, MCR 5,
    // and the line is high exactly when an interrupt is pending and the
    // OUT2 gate is open (read before IIR, whose read may clear THRE).
    const uint8_t lcr = in(kLcr);
    out(kLcr, lcr & 0x7f);
    const uint8_t mcr = in(kMcr);
    ASSERT_EQ(mcr & 0xe0, 0);
    ASSERT_EQ(in(kIer) & 0xf0, 0);
    const bool level = irq->level();
    const uint8_t iir = in(kIir);
    ASSERT_EQ(iir & 0x30, 0) << "IIR bits 5:4 must read 0";
    const bool gate = (mcr & kMcrOut2) && !(mcr & kMcrLoop);
    ASSERT_EQ(level, gate && !(iir & 0x01)) << "step " << step;
    ASSERT_EQ(in(kLsr) & (kLsrThre | kLsrTemt), kLsrThre | kLsrTemt);
    out(kLcr, lcr);
  }
  EXPECT_LE(uart.dropped_input_bytes(), 50000u * 40u);
}

}  // namespace
}  // namespace keel::devices::uart_test
