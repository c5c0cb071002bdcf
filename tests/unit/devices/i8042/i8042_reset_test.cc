// Machine reset of the i8042: controller, keyboard and mouse read as on a
// freshly built one; queued bytes are gone and both IRQ lines are low.
#include "i8042_fixture.h"

namespace keel::devices::testing {
namespace {

// Status, command byte, then the keyboard's scancode set (0xF0 0x00 ->
// ACK, set number) and the mouse's ID (0xF2 -> ACK, ID), as a driver
// would probe them.
Bytes probe_state(I8042& device) {
  const auto read_port = [](BusDevice& port) {
    std::byte value{0};
    port.read(0, std::span<std::byte>(&value, 1));
    return static_cast<uint8_t>(value);
  };
  const auto write_port = [](BusDevice& port, uint8_t value) {
    const std::byte byte{value};
    port.write(0, std::span<const std::byte>(&byte, 1));
  };
  Bytes state{read_port(*device.command_port())};
  write_port(*device.command_port(), 0x20);
  state.push_back(read_port(*device.data_port()));
  const auto drain = [&] {
    for (int i = 0; i < 8 && (read_port(*device.command_port()) & kOutputFull); ++i) {
      state.push_back(read_port(*device.data_port()));
    }
  };
  write_port(*device.data_port(), 0xF0);
  write_port(*device.data_port(), 0x00);
  drain();
  write_port(*device.command_port(), 0xD4);
  write_port(*device.data_port(), 0xF2);
  drain();
  return state;
}

TEST_F(I8042Test, ResetReadsLikeAFreshController) {
  auto fresh_keyboard = std::make_shared<keel::testing::FakeIrqLine>();
  auto fresh_mouse = std::make_shared<keel::testing::FakeIrqLine>();
  keel::testing::FakeVmControl fresh_vm;
  I8042 fresh{fresh_keyboard, fresh_mouse, fresh_vm};

  set_command_byte(0x03);  // both IRQs on, translation off, mouse enabled
  data(0xF0);              // keyboard: scancode set 3
  data(0x03);
  drain();
  for (uint8_t rate : {200, 100, 80}) {  // the IntelliMouse knock: ID 3
    to_mouse(0xF3);
    to_mouse(rate);
  }
  to_mouse(0xF4);  // reporting on
  drain();
  ASSERT_TRUE(i8042.inject_key("a", true));
  ASSERT_TRUE(keyboard_irq->level());

  i8042.reset();
  EXPECT_FALSE(keyboard_irq->level());
  EXPECT_FALSE(mouse_irq->level());
  EXPECT_EQ(status() & kOutputFull, 0) << "a queued scancode survived the reset";
  EXPECT_EQ(probe_state(i8042), probe_state(fresh));
}

}  // namespace
}  // namespace keel::devices::testing
