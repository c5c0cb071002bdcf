// Register file behaviour: reset values, scratch, divisor latch and DLAB,
// masks on IER/MCR, ignored writes, wide accesses.
#include <array>

#include "keel/config_error.h"
#include "tests/unit/devices/uart/uart_fixture.h"

namespace keel::devices::uart_test {
namespace {

TEST_F(UartTest, ResetValuesMatchTheDatasheet) {
  EXPECT_EQ(in(kIer), 0x00);
  EXPECT_EQ(in(kIir), kIirNone);
  EXPECT_EQ(in(kLcr), 0x00);
  EXPECT_EQ(in(kMcr), 0x00);
  EXPECT_EQ(in(kLsr), kLsrThre | kLsrTemt);
  // Outside loopback the modem inputs read as a ready null-modem peer.
  EXPECT_EQ(in(kMsr), kMsrCts | kMsrDsr | kMsrDcd);
  EXPECT_EQ(in(kScr), 0x00);
  EXPECT_FALSE(irq->level());
}

TEST_F(UartTest, ScratchRegisterHoldsEveryValue) {
  for (int v = 0; v < 256; ++v) {
    out(kScr, static_cast<uint8_t>(v));
    ASSERT_EQ(in(kScr), v);
  }
}

TEST_F(UartTest, DivisorLatchRoundTripsBehindDlab) {
  out(kLcr, kLcrDlab | 0x03);
  out(kData, 0x01);  // DLL
  out(kIer, 0x80);   // DLM
  EXPECT_EQ(in(kData), 0x01);
  EXPECT_EQ(in(kIer), 0x80);
  EXPECT_EQ(in(kLcr), kLcrDlab | 0x03);

  // DLAB clear: offsets 0/1 are RBR/IER again and the latch is untouched.
  out(kLcr, 0x03);
  EXPECT_EQ(in(kIer), 0x00);
  out(kIer, kIerRx);
  EXPECT_EQ(in(kIer), kIerRx);
  out(kLcr, kLcrDlab);
  EXPECT_EQ(in(kData), 0x01);
  EXPECT_EQ(in(kIer), 0x80);
}

TEST_F(UartTest, DivisorDefaultsTo9600Baud) {
  out(kLcr, kLcrDlab);
  EXPECT_EQ(in(kData), 12);
  EXPECT_EQ(in(kIer), 0);
}

TEST_F(UartTest, DivisorWritesDoNotTransmitOrTouchIer) {
  out(kLcr, kLcrDlab);
  out(kData, 'A');
  out(kIer, 0x0f);
  out(kLcr, 0);
  EXPECT_TRUE(sink->bytes().empty());
  EXPECT_EQ(in(kIer), 0x00);
}

TEST_F(UartTest, LcrReadsBackEveryBitIncludingConfigModes) {
  for (uint8_t v : {0x03, 0x1b, 0x7f, 0xbf, 0xff, 0x00}) {
    out(kLcr, v);
    EXPECT_EQ(in(kLcr), v);
  }
}

TEST_F(UartTest, IerKeepsOnlyItsLowFourBits) {
  out(kIer, 0xff);
  EXPECT_EQ(in(kIer), 0x0f);
  out(kIer, 0xf0);
  EXPECT_EQ(in(kIer), 0x00);
}

TEST_F(UartTest, McrKeepsOnlyItsLowFiveBits) {
  out(kMcr, 0xff);
  EXPECT_EQ(in(kMcr), 0x1f);
  out(kMcr, 0xe0);
  EXPECT_EQ(in(kMcr), 0x00);
}

TEST_F(UartTest, LsrAndMsrWritesAreIgnored) {
  out(kLsr, 0xff);
  out(kMsr, 0x00);
  EXPECT_EQ(in(kLsr), kLsrThre | kLsrTemt);
  EXPECT_EQ(in(kMsr), kMsrCts | kMsrDsr | kMsrDcd);
}

TEST_F(UartTest, WideAccessesAreSplitIntoBytes) {
  out(kLcr, kLcrDlab);
  const std::array<std::byte, 2> divisor{std::byte{0x34}, std::byte{0x12}};
  uart.write(kData, divisor);
  std::array<std::byte, 2> back{};
  uart.read(kData, back);
  EXPECT_EQ(back, divisor);
  EXPECT_TRUE(sink->bytes().empty());

  // A 2-byte write at offset 6 hits MSR (ignored) and SCR.
  out(kLcr, 0);
  uart.write(kMsr, std::array<std::byte, 2>{std::byte{0x00}, std::byte{0x77}});
  EXPECT_EQ(in(kScr), 0x77);
}

TEST_F(UartTest, BytesPastTheRegisterFileReadAsAllOnes) {
  // The bus never sends these; the device must still not misbehave.
  out(kScr, 0x42);
  std::array<std::byte, 4> data{};
  uart.read(kMsr, data);
  EXPECT_EQ(data[1], std::byte{0x42});
  EXPECT_EQ(data[2], std::byte{0xff});
  EXPECT_EQ(data[3], std::byte{0xff});
  std::array<std::byte, 8> far{};
  uart.read(100, far);
  for (std::byte b : far) EXPECT_EQ(b, std::byte{0xff});
  uart.write(UINT64_MAX, std::array<std::byte, 1>{std::byte{'x'}});
  uart.write(8, std::array<std::byte, 8>{});
  EXPECT_TRUE(sink->bytes().empty());
}

TEST(UartConstruction, RejectsMissingIrqOrSink) {
  auto irq = std::make_shared<testing::FakeIrqLine>();
  auto sink = std::make_shared<testing::RecordingSink>();
  EXPECT_THROW(Uart8250(nullptr, sink), ConfigError);
  EXPECT_THROW(Uart8250(irq, nullptr), ConfigError);
}

}  // namespace
}  // namespace keel::devices::uart_test
