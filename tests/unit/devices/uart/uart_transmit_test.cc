// Transmit path and the THR-empty interrupt.
#include <algorithm>
#include <thread>
#include <vector>

#include "tests/unit/devices/uart/uart_fixture.h"

namespace keel::devices::uart_test {
namespace {

TEST_F(UartTest, ThrWritesReachTheSinkInOrder) {
  for (char c : std::string("hello, world\n")) out(kData, static_cast<uint8_t>(c));
  EXPECT_EQ(sink->text(), "hello, world\n");
}

TEST_F(UartTest, AllByteValuesAreTransmittedUnchanged) {
  for (int v = 0; v < 256; ++v) out(kData, static_cast<uint8_t>(v));
  const auto bytes = sink->bytes();
  ASSERT_EQ(bytes.size(), 256u);
  for (int v = 0; v < 256; ++v) EXPECT_EQ(std::to_integer<int>(bytes[v]), v);
}

TEST_F(UartTest, LsrShowsTransmitterEmptyAfterEachByte) {
  out(kData, 'x');
  EXPECT_EQ(in(kLsr) & (kLsrThre | kLsrTemt), kLsrThre | kLsrTemt);
  out(kFcr, 0x01);
  for (int i = 0; i < 40; ++i) out(kData, 'y');
  EXPECT_EQ(in(kLsr) & (kLsrThre | kLsrTemt), kLsrThre | kLsrTemt);
  EXPECT_EQ(sink->bytes().size(), 41u);
}

TEST_F(UartTest, EnablingEtbeiWithEmptyThrRaisesThre) {
  out(kMcr, kMcrOut2);
  EXPECT_FALSE(irq->level());
  out(kIer, kIerThre);
  EXPECT_TRUE(irq->level());
  EXPECT_EQ(irq->rising_edges(), 1);
  EXPECT_EQ(in(kIir), kIirThre);
}

TEST_F(UartTest, IirReadClearsThreWhenItIsReported) {
  out(kMcr, kMcrOut2);
  out(kIer, kIerThre);
  EXPECT_EQ(in(kIir), kIirThre);
  EXPECT_FALSE(irq->level());
  EXPECT_EQ(in(kIir), kIirNone);
  // Rewriting IER with ETBEI still set is not a new THR-empty event.
  out(kIer, kIerThre);
  EXPECT_EQ(in(kIir), kIirNone);
  EXPECT_FALSE(irq->level());
}

TEST_F(UartTest, ThrWriteClearsThreAndTransmitRaisesItAgainWithAFreshEdge) {
  out(kMcr, kMcrOut2);
  out(kIer, kIerThre);
  ASSERT_TRUE(irq->level());
  irq->reset_count();
  // The guest never reads IIR: each byte still produces its own edge, as the
  // THR write drops the request and the emptied THR raises it again.
  for (int i = 0; i < 3; ++i) out(kData, 'z');
  EXPECT_TRUE(irq->level());
  EXPECT_EQ(irq->rising_edges(), 3);
  EXPECT_EQ(in(kIir), kIirThre);
}

TEST_F(UartTest, DisablingEtbeiDropsThre) {
  out(kMcr, kMcrOut2);
  out(kIer, kIerThre);
  out(kIer, 0);
  EXPECT_FALSE(irq->level());
  EXPECT_EQ(in(kIir), kIirNone);
}

TEST_F(UartTest, LinuxThreProbeSequenceSeesTheInterruptBothTimes) {
  // serial8250_do_startup: the UART_BUG_THRE check.
  out(kIer, kIerThre);
  const uint8_t iir1 = in(kIir);
  out(kIer, 0);
  out(kIer, kIerThre);
  const uint8_t iir2 = in(kIir);
  out(kIer, 0);
  EXPECT_EQ(iir1 & 0x0f, kIirThre);
  EXPECT_EQ(iir2 & 0x0f, kIirThre);
}

TEST_F(UartTest, ThreWithoutIerNeverReachesIir) {
  out(kMcr, kMcrOut2);
  out(kData, 'a');
  EXPECT_EQ(in(kIir), kIirNone);
  EXPECT_FALSE(irq->level());
  EXPECT_EQ(irq->rising_edges(), 0);
}

TEST_F(UartTest, ConcurrentWritersLoseNoBytes) {
  constexpr int kThreads = 4;
  constexpr int kBytesEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kBytesEach; ++i) out(kData, static_cast<uint8_t>('a' + t));
    });
  }
  std::thread reader([this] {
    for (int i = 0; i < kBytesEach; ++i) {
      host_sends("r");
      (void)in(kLsr);
      (void)in(kData);
    }
  });
  for (auto& thread : threads) thread.join();
  reader.join();
  const std::string text = sink->text();
  ASSERT_EQ(text.size(), static_cast<size_t>(kThreads * kBytesEach));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(std::count(text.begin(), text.end(), static_cast<char>('a' + t)), kBytesEach);
  }
}

}  // namespace
}  // namespace keel::devices::uart_test
