// A guest flooding the UART -- console output, register garbage, a host
// input stream it never reads -- costs keel no heap (issue 9): the FIFOs
// and the transmit batch are fixed-size. Counted with a replaced operator
// new (tests/support/allocation_counter) around the device's calls only.
#include <spdlog/spdlog.h>

#include "tests/support/allocation_counter.h"
#include "tests/unit/devices/uart/uart_fixture.h"

namespace keel::devices::uart_test {
namespace {

using keel::testing::AllocationCounter;

// Counts the bytes the UART hands to the console, keeping none.
class CountingSink final : public CharSink {
 public:
  void write(std::span<const std::byte> bytes) noexcept override { written += bytes.size(); }
  uint64_t written = 0;
};

// (The dropped-input warning is rate-limited to one a second; spdlog's own
// buffers are not the UART's, so logging is off while counting.)
TEST(UartBoundedAllocation, AFloodOfOutputAndGarbageAllocatesNothing) {
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  auto irq = std::make_shared<testing::FakeIrqLine>();
  auto sink = std::make_shared<CountingSink>();
  Uart8250 uart(irq, sink);
  std::vector<std::byte> host_input(8192, std::byte{'x'});
  uint64_t allocated = 0;
  uint32_t garbage = 0x12345678;
  for (int round = 0; round < 2000; ++round) {
    AllocationCounter allocations;
    // Console output: a line a round.
    for (int i = 0; i < 64; ++i) {
      const std::byte c{static_cast<uint8_t>(i == 63 ? '\n' : 'a' + i % 26)};
      uart.write(kData, std::span(&c, 1));
    }
    // Random register writes and reads (a xorshift, reproducible).
    for (int i = 0; i < 64; ++i) {
      garbage ^= garbage << 13;
      garbage ^= garbage >> 17;
      garbage ^= garbage << 5;
      const std::byte value{static_cast<uint8_t>(garbage >> 8)};
      uart.write(garbage % 8, std::span(&value, 1));
      std::byte read{};
      uart.read((garbage >> 16) % 8, std::span(&read, 1));
    }
    const std::byte lcr{0x03}, mcr{0x00};
    uart.write(kLcr, std::span(&lcr, 1));  // DLAB off again, so THR writes reach the sink
    uart.write(kMcr, std::span(&mcr, 1));  // and loopback off
    uart.receive(host_input);  // host input the guest never reads: bounded, dropped
    allocated += allocations.count();
  }
  spdlog::set_level(level);
  EXPECT_EQ(allocated, 0u);
  EXPECT_GE(sink->written, 2000u * 64);
  EXPECT_GT(uart.dropped_input_bytes(), 0u);
}

}  // namespace
}  // namespace keel::devices::uart_test
