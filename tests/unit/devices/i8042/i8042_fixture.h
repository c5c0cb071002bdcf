// Shared set-up for the i8042 tests: the device on fake IRQ lines and a fake
// VmControl, and helpers that talk to it the way a guest driver does.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "devices/i8042/i8042.h"
#include "tests/support/fakes.h"

namespace keel::devices::testing {

inline constexpr uint8_t kOutputFull = 0x01;
inline constexpr uint8_t kSystemFlag = 0x04;
inline constexpr uint8_t kLastWasCommand = 0x08;
inline constexpr uint8_t kAuxData = 0x20;

class I8042Test : public ::testing::Test {
 protected:
  uint8_t status() { return read_port(*i8042.command_port()); }
  // One read of port 0x60, whatever the status says.
  uint8_t read_data() { return read_port(*i8042.data_port()); }
  void command(uint8_t value) { write_port(*i8042.command_port(), value); }
  void data(uint8_t value) { write_port(*i8042.data_port(), value); }

  // Reads every byte the controller has for us (as a polling driver does).
  std::vector<uint8_t> drain(size_t limit = 256) {
    std::vector<uint8_t> bytes;
    while (bytes.size() < limit && (status() & kOutputFull)) bytes.push_back(read_data());
    return bytes;
  }
  // A controller command and the byte it answers with.
  uint8_t query(uint8_t controller_command) {
    command(controller_command);
    EXPECT_TRUE(status() & kOutputFull) << "no reply to command " << int{controller_command};
    return read_data();
  }
  void set_command_byte(uint8_t value) {
    command(0x60);
    data(value);
  }
  uint8_t command_byte() { return query(0x20); }
  // A byte for the mouse (controller command 0xD4, then the byte).
  void to_mouse(uint8_t value) {
    command(0xD4);
    data(value);
  }

  std::shared_ptr<keel::testing::FakeIrqLine> keyboard_irq = std::make_shared<keel::testing::FakeIrqLine>();
  std::shared_ptr<keel::testing::FakeIrqLine> mouse_irq = std::make_shared<keel::testing::FakeIrqLine>();
  keel::testing::FakeVmControl vm;
  I8042 i8042{keyboard_irq, mouse_irq, vm};

 private:
  static uint8_t read_port(BusDevice& port) {
    std::byte value{0};
    port.read(0, std::span<std::byte>(&value, 1));
    return static_cast<uint8_t>(value);
  }
  static void write_port(BusDevice& port, uint8_t value) {
    const std::byte byte{value};
    port.write(0, std::span<const std::byte>(&byte, 1));
  }
};

using Bytes = std::vector<uint8_t>;

}  // namespace keel::devices::testing
