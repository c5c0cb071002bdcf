// Shared fixture for the UART tests: a Uart8250 wired to a FakeIrqLine and a
// RecordingSink, with register-level helpers that mirror a guest's inb/outb.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "devices/uart/uart_8250.h"
#include "tests/support/fakes.h"

namespace keel::devices::uart_test {

// Register offsets and bits, spelled out here independently of the
// implementation so a wrong constant there is caught.
inline constexpr uint64_t kData = 0, kIer = 1, kIir = 2, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                          kScr = 7;
inline constexpr uint8_t kIerRx = 0x01, kIerThre = 0x02, kIerLine = 0x04, kIerModem = 0x08;
inline constexpr uint8_t kIirNone = 0x01, kIirModem = 0x00, kIirThre = 0x02, kIirRx = 0x04, kIirLine = 0x06,
                         kIirTimeout = 0x0c;
inline constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;
inline constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
inline constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08, kMsrCts = 0x10,
                         kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
inline constexpr uint8_t kLcrDlab = 0x80;

class UartTest : public ::testing::Test {
 protected:
  uint8_t in(uint64_t reg) {
    std::byte b{0x5a};
    uart.read(reg, std::span<std::byte>(&b, 1));
    return std::to_integer<uint8_t>(b);
  }
  void out(uint64_t reg, uint8_t value) {
    const std::byte b{value};
    uart.write(reg, std::span<const std::byte>(&b, 1));
  }
  void host_sends(const std::string& text) {
    std::vector<std::byte> bytes;
    for (char c : text) bytes.push_back(static_cast<std::byte>(c));
    uart.receive(bytes);
  }
  void host_sends_count(size_t count, uint8_t first = 0) {
    std::vector<std::byte> bytes;
    for (size_t i = 0; i < count; ++i) bytes.push_back(std::byte{static_cast<uint8_t>(first + i)});
    uart.receive(bytes);
  }
  // Reads RBR while LSR.DR is set, as a polling driver does.
  std::string drain(size_t limit = 100000) {
    std::string got;
    while ((in(kLsr) & kLsrDr) && got.size() < limit) got.push_back(static_cast<char>(in(kData)));
    return got;
  }

  std::shared_ptr<testing::FakeIrqLine> irq = std::make_shared<testing::FakeIrqLine>();
  std::shared_ptr<testing::RecordingSink> sink = std::make_shared<testing::RecordingSink>();
  Uart8250 uart{irq, sink};
};

}  // namespace keel::devices::uart_test
