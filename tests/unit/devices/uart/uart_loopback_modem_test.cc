// Loopback mode, overrun, line status and modem status interrupts, and the
// OUT2 gate on the IRQ line.
#include "tests/unit/devices/uart/uart_fixture.h"

namespace keel::devices::uart_test {
namespace {

constexpr uint8_t kFifoOn = 0x01;

TEST_F(UartTest, LoopbackSendsTransmittedBytesToTheReceiver) {
  out(kMcr, kMcrLoop);
  out(kData, 'L');
  EXPECT_TRUE(sink->bytes().empty());
  EXPECT_EQ(in(kLsr), kLsrDr | kLsrThre | kLsrTemt);
  EXPECT_EQ(drain(), "L");
}

TEST_F(UartTest, LoopbackWithFifoKeepsEveryByte) {
  out(kFcr, kFifoOn);
  out(kMcr, kMcrLoop);
  for (char c : std::string("loop")) out(kData, static_cast<uint8_t>(c));
  EXPECT_TRUE(sink->bytes().empty());
  EXPECT_EQ(drain(), "loop");
  EXPECT_EQ(in(kLsr) & kLsrOe, 0);
  // Leaving loopback sends to the sink again.
  out(kMcr, 0);
  out(kData, '!');
  EXPECT_EQ(sink->text(), "!");
}

TEST_F(UartTest, LoopbackOverrunWithoutFifoKeepsTheNewestByte) {
  out(kMcr, kMcrLoop);
  out(kData, 'a');
  out(kData, 'b');
  const uint8_t lsr = in(kLsr);
  EXPECT_TRUE(lsr & kLsrOe);
  EXPECT_TRUE(lsr & kLsrDr);
  EXPECT_FALSE(in(kLsr) & kLsrOe);  // cleared by the LSR read
  EXPECT_EQ(in(kData), 'b');
}

TEST_F(UartTest, LoopbackOverrunWithFifoKeepsTheFifo) {
  out(kFcr, kFifoOn);
  out(kMcr, kMcrLoop);
  for (int i = 0; i < 17; ++i) out(kData, static_cast<uint8_t>('A' + i));
  EXPECT_TRUE(in(kLsr) & kLsrOe);
  EXPECT_EQ(drain(), "ABCDEFGHIJKLMNOP");
}

TEST_F(UartTest, OverrunRaisesLineStatusAboveRxData) {
  out(kFcr, kFifoOn);
  out(kIer, kIerLine | kIerRx | kIerThre);
  out(kMcr, kMcrLoop);
  for (int i = 0; i < 17; ++i) out(kData, 'x');
  EXPECT_EQ(in(kIir) & 0x0f, kIirLine);
  (void)in(kLsr);
  EXPECT_EQ(in(kIir) & 0x0f, kIirRx);
}

TEST_F(UartTest, HostInputWaitsWhileInLoopback) {
  out(kMcr, kMcrLoop);
  host_sends("host");
  EXPECT_FALSE(in(kLsr) & kLsrDr);
  out(kMcr, kMcrOut2);
  EXPECT_EQ(drain(), "host");
}

TEST_F(UartTest, LoopbackWiresModemOutputsToInputs) {
  struct Case {
    uint8_t mcr;
    uint8_t msr_lines;
  };
  for (const Case c : {Case{kMcrRts, kMsrCts}, Case{kMcrDtr, kMsrDsr}, Case{kMcrOut1, kMsrRi},
                       Case{kMcrOut2, kMsrDcd}, Case{0, 0},
                       Case{kMcrDtr | kMcrRts | kMcrOut1 | kMcrOut2, kMsrCts | kMsrDsr | kMsrRi | kMsrDcd}}) {
    out(kMcr, static_cast<uint8_t>(kMcrLoop | c.mcr));
    EXPECT_EQ(in(kMsr) & 0xf0, c.msr_lines) << "mcr " << int(c.mcr);
  }
}

TEST_F(UartTest, LinuxLoopbackModemCheckSees0x90) {
  // serial8250 autoconfig: MCR = LOOP | 0x0A must read MSR & 0xF0 == 0x90.
  out(kMcr, kMcrLoop | 0x0a);
  EXPECT_EQ(in(kMsr) & 0xf0, 0x90);
}

TEST_F(UartTest, ModemDeltaBitsTrackLineChangesAndClearOnRead) {
  // Entering loopback with all outputs off drops CTS, DSR and DCD.
  out(kMcr, kMcrLoop);
  EXPECT_EQ(in(kMsr), kMsrDcts | kMsrDdsr | kMsrDdcd);
  EXPECT_EQ(in(kMsr), 0x00);
  // RI rising is not an event; RI falling (trailing edge) is.
  out(kMcr, kMcrLoop | kMcrOut1);
  EXPECT_EQ(in(kMsr), kMsrRi);
  out(kMcr, kMcrLoop);
  EXPECT_EQ(in(kMsr), kMsrTeri);
  out(kMcr, kMcrLoop | kMcrRts);
  EXPECT_EQ(in(kMsr), kMsrCts | kMsrDcts);
}

TEST_F(UartTest, ModemStatusInterruptIsLowestPriority) {
  out(kIer, kIerModem | kIerThre);
  out(kMcr, kMcrLoop | kMcrDtr);
  EXPECT_EQ(in(kIir), kIirThre);
  EXPECT_EQ(in(kIir), kIirModem);
  (void)in(kMsr);
  EXPECT_EQ(in(kIir), kIirNone);
}

TEST_F(UartTest, Out2GatesTheIrqLine) {
  out(kIer, kIerThre);
  EXPECT_FALSE(irq->level());  // pending, but OUT2 is off
  out(kMcr, kMcrOut2);
  EXPECT_TRUE(irq->level());
  out(kMcr, kMcrDtr | kMcrRts);
  EXPECT_FALSE(irq->level());
  out(kMcr, kMcrOut2 | kMcrDtr | kMcrRts);
  EXPECT_TRUE(irq->level());
  EXPECT_EQ(in(kIir), kIirThre);
  EXPECT_FALSE(irq->level());
}

TEST_F(UartTest, LoopbackKeepsTheInterruptInsideTheChip) {
  out(kIer, kIerRx);
  out(kMcr, kMcrLoop | kMcrOut2);
  out(kData, 'i');
  EXPECT_EQ(in(kIir), kIirRx);  // visible in IIR ...
  EXPECT_FALSE(irq->level());   // ... but the OUT2 pin is forced inactive
  out(kMcr, kMcrOut2);
  EXPECT_TRUE(irq->level());
  EXPECT_EQ(in(kData), 'i');
  EXPECT_FALSE(irq->level());
}

}  // namespace
}  // namespace keel::devices::uart_test
