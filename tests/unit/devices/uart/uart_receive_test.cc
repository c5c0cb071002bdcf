// Receive path: host input buffer, RX FIFO, trigger levels, IIR codes.
#include "tests/unit/devices/uart/uart_fixture.h"

namespace keel::devices::uart_test {
namespace {

constexpr uint8_t kFifoOn = 0x01;
constexpr uint8_t kClearRx = 0x02;
constexpr uint8_t kIirFifoBits = 0xc0;

TEST_F(UartTest, HostBytesAreReadInOrderAndDrClears) {
  host_sends("abc");
  EXPECT_TRUE(in(kLsr) & kLsrDr);
  EXPECT_EQ(drain(), "abc");
  EXPECT_FALSE(in(kLsr) & kLsrDr);
}

TEST_F(UartTest, WithoutFifosTheHoldingRegisterRefillsFromTheHostBuffer) {
  // 16450 mode: one byte at a time, no overrun from host input.
  host_sends("xyz");
  EXPECT_EQ(in(kData), 'x');
  EXPECT_EQ(in(kLsr), kLsrDr | kLsrThre | kLsrTemt);
  EXPECT_EQ(in(kData), 'y');
  EXPECT_EQ(in(kData), 'z');
  EXPECT_EQ(in(kLsr), kLsrThre | kLsrTemt);
  // An empty holding register keeps returning the last byte.
  EXPECT_EQ(in(kData), 'z');
}

TEST_F(UartTest, RxDataInterruptWithoutFifos) {
  out(kMcr, kMcrOut2);
  out(kIer, kIerRx);
  EXPECT_FALSE(irq->level());
  host_sends("q");
  EXPECT_TRUE(irq->level());
  EXPECT_EQ(in(kIir), kIirRx);
  EXPECT_EQ(in(kData), 'q');
  EXPECT_FALSE(irq->level());
  EXPECT_EQ(in(kIir), kIirNone);
}

TEST_F(UartTest, RxInterruptNeedsErbfi) {
  out(kMcr, kMcrOut2);
  host_sends("q");
  EXPECT_EQ(in(kIir), kIirNone);
  EXPECT_FALSE(irq->level());
  out(kIer, kIerRx);
  EXPECT_TRUE(irq->level());
}

TEST_F(UartTest, IirFifoBitsFollowFcr0) {
  out(kFcr, kFifoOn);
  EXPECT_EQ(in(kIir), kIirFifoBits | kIirNone);
  out(kFcr, 0x00);
  EXPECT_EQ(in(kIir), kIirNone);
}

TEST_F(UartTest, FcrBitsAreNotProgrammedWithoutFcr0) {
  out(kFcr, 0xc0 | kClearRx);  // FCR0 clear: FIFOs stay off
  EXPECT_EQ(in(kIir) & kIirFifoBits, 0);
  host_sends("ab");
  out(kFcr, kClearRx);  // ignored in 16450 mode
  EXPECT_EQ(in(kData), 'a');
}

// Trigger level code in FCR bits 7:6 -> level in bytes.
struct TriggerCase {
  uint8_t fcr_bits;
  size_t level;
};

class UartTriggerTest : public UartTest, public ::testing::WithParamInterface<TriggerCase> {};

TEST_P(UartTriggerTest, BelowTriggerIsTimeoutAtTriggerIsRxData) {
  const auto [bits, level] = GetParam();
  out(kMcr, kMcrOut2);
  out(kIer, kIerRx);
  out(kFcr, static_cast<uint8_t>(bits | kFifoOn));
  host_sends_count(level - 1);
  if (level > 1) {
    EXPECT_EQ(in(kIir), kIirFifoBits | kIirTimeout);
    EXPECT_TRUE(irq->level());
  } else {
    EXPECT_EQ(in(kIir), kIirFifoBits | kIirNone);
    EXPECT_FALSE(irq->level());
  }
  host_sends_count(1);
  EXPECT_EQ(in(kIir), kIirFifoBits | kIirRx);
  EXPECT_TRUE(irq->level());
  // Reading one byte takes the FIFO below the trigger (if above 1): the
  // remaining data is reported as a timeout until drained.
  (void)in(kData);
  if (level > 1) {
    EXPECT_EQ(in(kIir), kIirFifoBits | kIirTimeout);
  }
  EXPECT_EQ(drain().size(), level - 1);
  EXPECT_EQ(in(kIir), kIirFifoBits | kIirNone);
  EXPECT_FALSE(irq->level());
}

INSTANTIATE_TEST_SUITE_P(AllLevels, UartTriggerTest,
                         ::testing::Values(TriggerCase{0x00, 1}, TriggerCase{0x40, 4}, TriggerCase{0x80, 8},
                                           TriggerCase{0xc0, 14}));

TEST_F(UartTest, FifoHoldsSixteenAndRefillsFromHostBuffer) {
  out(kFcr, kFifoOn);
  host_sends_count(40);
  std::string got = drain();
  ASSERT_EQ(got.size(), 40u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(static_cast<uint8_t>(got[i]), i);
  EXPECT_EQ(in(kLsr) & kLsrOe, 0);
}

TEST_F(UartTest, FcrClearRxEmptiesTheFifo) {
  out(kFcr, kFifoOn);
  host_sends("hello");
  out(kFcr, kFifoOn | kClearRx);
  EXPECT_FALSE(in(kLsr) & kLsrDr);
  EXPECT_EQ(drain(), "");
}

TEST_F(UartTest, FcrClearRxDropsOnlyTheFifoNotWaitingHostBytes) {
  out(kFcr, kFifoOn);
  host_sends_count(20);  // 16 in the FIFO, 4 waiting
  out(kFcr, kFifoOn | kClearRx);
  const std::string got = drain();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(got[0]), 16);
}

TEST_F(UartTest, SwitchingFifoModeClearsTheFifo) {
  out(kFcr, kFifoOn);
  host_sends("abc");
  out(kFcr, 0x00);
  EXPECT_FALSE(in(kLsr) & kLsrDr);
  host_sends("d");
  out(kFcr, kFifoOn);
  EXPECT_EQ(drain(), "");
}

TEST_F(UartTest, EmptyFifoReadsZero) {
  out(kFcr, kFifoOn);
  EXPECT_EQ(in(kData), 0);
  EXPECT_EQ(in(kLsr), kLsrThre | kLsrTemt);
}

TEST_F(UartTest, RxDataOutranksThre) {
  out(kMcr, kMcrOut2);
  out(kIer, kIerRx | kIerThre);
  host_sends("k");
  EXPECT_EQ(in(kIir), kIirRx);  // THRE is pending but lower priority
  (void)in(kData);
  EXPECT_EQ(in(kIir), kIirThre);
  EXPECT_EQ(in(kIir), kIirNone);
}

TEST_F(UartTest, HostInputBeyondTheLimitIsDroppedAndCounted) {
  out(kFcr, kFifoOn);
  constexpr size_t kFifo = 16;
  constexpr size_t kExtra = 100;
  const size_t total = kFifo + Uart8250::kHostInputLimit + kExtra;
  std::vector<std::byte> bytes(total);
  for (size_t i = 0; i < total; ++i) bytes[i] = std::byte{static_cast<uint8_t>(i * 7)};
  uart.receive(bytes);
  EXPECT_EQ(uart.dropped_input_bytes(), kExtra);
  const std::string got = drain();
  ASSERT_EQ(got.size(), kFifo + Uart8250::kHostInputLimit);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(static_cast<uint8_t>(got[i]), static_cast<uint8_t>(i * 7));
  // Once drained, input is accepted again.
  host_sends("ok");
  EXPECT_EQ(drain(), "ok");
  EXPECT_EQ(uart.dropped_input_bytes(), kExtra);
}

TEST_F(UartTest, HostInputLimitHoldsAcrossManyCalls) {
  for (size_t i = 0; i < Uart8250::kHostInputLimit + 10; ++i) host_sends("x");
  // 16450 mode: one byte in the holding register, the limit waiting.
  EXPECT_EQ(uart.dropped_input_bytes(), 9u);
  EXPECT_EQ(drain().size(), Uart8250::kHostInputLimit + 1);
}

TEST_F(UartTest, EmptyReceiveIsHarmless) {
  uart.receive({});
  EXPECT_FALSE(in(kLsr) & kLsrDr);
}

}  // namespace
}  // namespace keel::devices::uart_test
