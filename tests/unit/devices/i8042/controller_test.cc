// The 8042 itself: status register, controller commands, command byte,
// output port and reset line.
#include "tests/unit/devices/i8042/i8042_fixture.h"

namespace keel::devices::testing {
namespace {

TEST_F(I8042Test, StartsInThePostFirmwareState) {
  EXPECT_EQ(status(), 0x1C);  // unlocked, last write "command", system flag; nothing to read
  EXPECT_EQ(command_byte(), 0x65);
  EXPECT_FALSE(keyboard_irq->level());
  EXPECT_FALSE(mouse_irq->level());
}

TEST_F(I8042Test, SelfTestAnswers55AndSetsTheSystemFlag) {
  set_command_byte(0x01);  // system flag cleared through the command byte
  EXPECT_FALSE(status() & kSystemFlag);
  EXPECT_EQ(query(0xAA), 0x55);
  EXPECT_TRUE(status() & kSystemFlag);
}

TEST_F(I8042Test, CommandByteWriteAndReadBack) {
  set_command_byte(0x47);
  EXPECT_EQ(command_byte(), 0x47);
  set_command_byte(0x00);
  EXPECT_EQ(command_byte(), 0x00);
  EXPECT_FALSE(status() & kSystemFlag);
}

TEST_F(I8042Test, StatusBit3TellsWhetherTheLastWriteWasACommand) {
  command(0x60);
  EXPECT_TRUE(status() & kLastWasCommand);
  data(0x65);
  EXPECT_FALSE(status() & kLastWasCommand);
}

TEST_F(I8042Test, InterfaceTestsPass) {
  EXPECT_EQ(query(0xAB), 0x00);  // keyboard port
  EXPECT_EQ(query(0xA9), 0x00);  // mouse port
}

TEST_F(I8042Test, PortEnableCommandsFlipCommandByteBits) {
  // Linux detects the AUX port by watching bit 5 follow 0xA7/0xA8.
  command(0xA8);
  EXPECT_EQ(command_byte() & 0x20, 0);
  command(0xA7);
  EXPECT_EQ(command_byte() & 0x20, 0x20);
  command(0xAD);
  EXPECT_EQ(command_byte() & 0x10, 0x10);
  command(0xAE);
  EXPECT_EQ(command_byte() & 0x10, 0);
}

TEST_F(I8042Test, ControllerRamBeyondTheCommandByte) {
  command(0x65);  // write RAM byte 5
  data(0x5A);
  EXPECT_EQ(query(0x25), 0x5A);
  EXPECT_EQ(command_byte(), 0x65);
}

TEST_F(I8042Test, InputAndOutputPorts) {
  EXPECT_EQ(query(0xC0), 0x80);
  EXPECT_EQ(query(0xD0), 0xCF);  // running, A20 on, idle-high bits
  command(0xDD);
  EXPECT_EQ(query(0xD0) & 0x02, 0);
  command(0xDF);
  EXPECT_EQ(query(0xD0) & 0x02, 0x02);
  command(0xD1);
  data(0xDD);  // A20 off, reset line high: no reset
  EXPECT_EQ(query(0xD0), 0xCD);  // bit 4 mirrors the (empty) output buffer, not the write
  EXPECT_EQ(vm.requests(), 0);
}

TEST_F(I8042Test, OutputPortShowsAFullOutputBuffer) {
  command(0xD2);
  data(0x42);  // keyboard byte waiting in the buffer
  command(0xD0);
  // The answer waits behind the keyboard byte and says it was there.
  EXPECT_EQ(drain(), (Bytes{0x42, 0xCF | 0x10}));
}

TEST_F(I8042Test, WritingTheOutputPortWithBit0ClearResetsTheMachine) {
  command(0xD1);
  data(0xFE);
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::guest_reset);
  EXPECT_EQ(vm.stop()->exit_status, 0);
}

TEST_F(I8042Test, PulsingTheResetLineResetsTheMachine) {
  command(0xFF);  // pulses nothing
  command(0xFD);  // bit 0 set: reset line not pulsed
  EXPECT_EQ(vm.requests(), 0);
  command(0xFE);
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::guest_reset);
  EXPECT_EQ(vm.stop()->exit_status, 0);
  command(0xF0);  // any even 0xF0-0xFE pulses bit 0 too
  EXPECT_EQ(vm.requests(), 2);
}

TEST_F(I8042Test, WriteKeyboardOutputBufferLooksLikeKeyboardData) {
  command(0xD2);
  data(0x1C);  // not translated, though translation is on
  EXPECT_EQ(status() & (kOutputFull | kAuxData), kOutputFull);
  EXPECT_TRUE(keyboard_irq->level());
  EXPECT_EQ(read_data(), 0x1C);
  EXPECT_FALSE(keyboard_irq->level());
}

TEST_F(I8042Test, WriteAuxOutputBufferLooksLikeMouseData) {
  set_command_byte(0x47);  // both interrupts on, both ports enabled
  command(0xD3);
  data(0x5A);  // Linux's AUX loopback probe
  EXPECT_EQ(status() & (kOutputFull | kAuxData), kOutputFull | kAuxData);
  EXPECT_TRUE(mouse_irq->level());
  EXPECT_FALSE(keyboard_irq->level());
  EXPECT_EQ(read_data(), 0x5A);
  EXPECT_FALSE(mouse_irq->level());
  EXPECT_EQ(status() & (kOutputFull | kAuxData), 0);
}

TEST_F(I8042Test, ControllerRepliesRaiseIrq1WhenEnabled) {
  set_command_byte(0x64);  // keyboard interrupt off
  command(0xAA);
  EXPECT_FALSE(keyboard_irq->level());
  EXPECT_EQ(read_data(), 0x55);
  set_command_byte(0x65);
  command(0xAA);
  EXPECT_TRUE(keyboard_irq->level());
  EXPECT_EQ(read_data(), 0x55);
  EXPECT_FALSE(keyboard_irq->level());
}

TEST_F(I8042Test, EnablingTheInterruptWithDataWaitingRaisesTheLine) {
  set_command_byte(0x64);
  command(0xD2);
  data(0x99);
  EXPECT_FALSE(keyboard_irq->level());
  set_command_byte(0x65);  // the command byte write goes through port 0x60 but is not data
  EXPECT_TRUE(keyboard_irq->level());
  EXPECT_EQ(read_data(), 0x99);
}

TEST_F(I8042Test, ReadingAnEmptyBufferRepeatsTheLastByte) {
  EXPECT_EQ(query(0xAA), 0x55);
  EXPECT_EQ(read_data(), 0x55);
  EXPECT_FALSE(status() & kOutputFull);
}

TEST_F(I8042Test, UnknownControllerCommandsAreIgnored) {
  for (uint8_t unknown : {0x00, 0x10, 0xA1, 0xB0, 0xC8, 0xE0}) command(unknown);
  EXPECT_FALSE(status() & kOutputFull);
  EXPECT_EQ(vm.requests(), 0);
  EXPECT_EQ(command_byte(), 0x65);
}

TEST_F(I8042Test, ANewerControllerReplyReplacesAnUnreadOne) {
  // The controller has a single output register for its own replies.
  command(0xD2);
  data(0x11);  // occupies the output buffer
  command(0xAA);
  command(0xAB);
  EXPECT_EQ(drain(), (Bytes{0x11, 0x00}));
}

TEST_F(I8042Test, AccessesWiderThanOneByteAreIgnored) {
  std::byte wide[2] = {std::byte{0xAA}, std::byte{0xAA}};
  i8042.command_port()->write(0, wide);
  EXPECT_FALSE(status() & kOutputFull);
  i8042.data_port()->read(0, wide);
  EXPECT_EQ(wide[0], std::byte{0xFF});
  EXPECT_EQ(wide[1], std::byte{0xFF});
  std::byte one{0xAA};
  i8042.command_port()->write(1, std::span<const std::byte>(&one, 1));  // offset outside the port
  EXPECT_FALSE(status() & kOutputFull);
}

TEST_F(I8042Test, NullIrqLinesAreRejectedAtConstruction) {
  EXPECT_THROW(I8042(nullptr, mouse_irq, vm), std::invalid_argument);
}

}  // namespace
}  // namespace keel::devices::testing
