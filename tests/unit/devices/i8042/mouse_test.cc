// The PS/2 mouse on the AUX port: commands through 0xD4, the AUX status bit,
// IRQ 12 and movement packets.
#include <climits>

#include "tests/unit/devices/i8042/i8042_fixture.h"

namespace keel::devices::testing {
namespace {

class MouseTest : public I8042Test {
 protected:
  void SetUp() override {
    set_command_byte(0x47);  // both IRQs, both ports enabled, translation on
  }
  Bytes mouse_command(uint8_t value) {
    to_mouse(value);
    return drain();
  }
  void enable_reporting() { ASSERT_EQ(mouse_command(0xF4), Bytes{0xFA}); }
};

TEST_F(MouseTest, ResetThroughD4) {
  mouse_irq->reset_count();
  to_mouse(0xFF);
  EXPECT_EQ(status() & (kOutputFull | kAuxData), kOutputFull | kAuxData);
  EXPECT_TRUE(mouse_irq->level());
  EXPECT_FALSE(keyboard_irq->level());
  EXPECT_EQ(read_data(), 0xFA);
  EXPECT_EQ(status() & kAuxData, kAuxData);
  EXPECT_EQ(read_data(), 0xAA);
  EXPECT_EQ(read_data(), 0x00);  // device ID
  EXPECT_FALSE(mouse_irq->level());
  EXPECT_EQ(status() & (kOutputFull | kAuxData), 0);
  EXPECT_EQ(mouse_irq->rising_edges(), 3);  // one edge per byte
}

TEST_F(MouseTest, MouseBytesDoNotRaiseIrq12WhenDisabledInTheCommandByte) {
  set_command_byte(0x45);
  to_mouse(0xF2);
  EXPECT_EQ(status() & (kOutputFull | kAuxData), kOutputFull | kAuxData);
  EXPECT_FALSE(mouse_irq->level());
  EXPECT_EQ(drain(), (Bytes{0xFA, 0x00}));
}

TEST_F(MouseTest, GetDeviceId) { EXPECT_EQ(mouse_command(0xF2), (Bytes{0xFA, 0x00})); }

TEST_F(MouseTest, MouseBytesAreNeverTranslated) {
  // 0x00 would become 0xFF through the translation table.
  EXPECT_EQ(mouse_command(0xF2), (Bytes{0xFA, 0x00}));
}

TEST_F(MouseTest, StreamPacketForAMotion) {
  enable_reporting();
  i8042.inject_mouse(10, 5, 0);  // right and down on screen
  EXPECT_EQ(status() & kAuxData, kAuxData);
  // Bit 3 always set, y sign set (PS/2 y points up), x = 10, y = -5.
  EXPECT_EQ(drain(), (Bytes{0x28, 0x0A, 0xFB}));
}

TEST_F(MouseTest, ButtonsAlone) {
  enable_reporting();
  i8042.inject_mouse(0, 0, 0x01);
  EXPECT_EQ(drain(), (Bytes{0x09, 0x00, 0x00}));
  i8042.inject_mouse(0, 0, 0x01);  // no change, no motion: nothing to report
  EXPECT_EQ(drain(), Bytes{});
  i8042.inject_mouse(-1, 0, 0x06);
  EXPECT_EQ(drain(), (Bytes{0x1E, 0xFF, 0x00}));
}

TEST_F(MouseTest, LargeMotionIsSplitIntoPackets) {
  enable_reporting();
  i8042.inject_mouse(600, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 0xFF, 0x00, 0x08, 0xFF, 0x00, 0x08, 0x5A, 0x00}));
  i8042.inject_mouse(-300, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x18, 0x00, 0x00, 0x18, 0xD4, 0x00}));
}

TEST_F(MouseTest, HugeMotionIsBoundedAndFlagsOverflow) {
  enable_reporting();
  i8042.inject_mouse(INT_MAX, INT_MIN, 0);
  const Bytes bytes = drain(100000);
  ASSERT_EQ(bytes.size() % 3, 0u);
  // Bounded: at most kMaxPendingCounts (4096) per axis, 256 per packet.
  EXPECT_LE(bytes.size(), 3u * 17);
  EXPECT_EQ(bytes[0] & 0xC8, 0xC8);  // both overflow bits in the first packet
  for (size_t i = 3; i < bytes.size(); i += 3) EXPECT_EQ(bytes[i] & 0xC0, 0) << i;
}

TEST_F(MouseTest, ReportingDisabledSendsNothing) {
  i8042.inject_mouse(10, 10, 1);
  EXPECT_EQ(drain(), Bytes{});
  enable_reporting();
  ASSERT_EQ(mouse_command(0xF5), Bytes{0xFA});
  i8042.inject_mouse(10, 10, 0);
  EXPECT_EQ(drain(), Bytes{});
}

TEST_F(MouseTest, StatusRequest) {
  EXPECT_EQ(mouse_command(0xE9), (Bytes{0xFA, 0x00, 0x02, 100}));
  enable_reporting();
  ASSERT_EQ(mouse_command(0xE7), Bytes{0xFA});
  i8042.inject_mouse(0, 0, 0x01);  // left button down
  drain();
  EXPECT_EQ(mouse_command(0xE9), (Bytes{0xFA, 0x34, 0x02, 100}));
}

TEST_F(MouseTest, SampleRateAndResolution) {
  EXPECT_EQ(mouse_command(0xF3), Bytes{0xFA});
  EXPECT_EQ(mouse_command(40), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0xE8), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0x03), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0xE9), (Bytes{0xFA, 0x00, 0x03, 40}));
  // Invalid parameters are refused and change nothing.
  EXPECT_EQ(mouse_command(0xF3), Bytes{0xFA});
  EXPECT_EQ(mouse_command(41), Bytes{0xFE});
  EXPECT_EQ(mouse_command(0xE8), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0x04), Bytes{0xFE});
  EXPECT_EQ(mouse_command(0xE9), (Bytes{0xFA, 0x00, 0x03, 40}));
  EXPECT_EQ(mouse_command(0xF6), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0xE9), (Bytes{0xFA, 0x00, 0x02, 100}));
}

TEST_F(MouseTest, IntelliMouseKnockSwitchesToFourBytePackets) {
  for (uint8_t rate : {200, 100, 80}) {
    ASSERT_EQ(mouse_command(0xF3), Bytes{0xFA});
    ASSERT_EQ(mouse_command(rate), Bytes{0xFA});
  }
  EXPECT_EQ(mouse_command(0xF2), (Bytes{0xFA, 0x03}));
  enable_reporting();
  i8042.inject_mouse(1, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 0x01, 0x00, 0x00}));
  EXPECT_EQ(mouse_command(0xFF), (Bytes{0xFA, 0xAA, 0x00}));  // reset: plain mouse again
}

TEST_F(MouseTest, ScalingTwoToOne) {
  enable_reporting();
  ASSERT_EQ(mouse_command(0xE7), Bytes{0xFA});
  i8042.inject_mouse(4, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 0x06, 0x00}));
  i8042.inject_mouse(2, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 0x01, 0x00}));
  i8042.inject_mouse(20, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 40, 0x00}));
  ASSERT_EQ(mouse_command(0xE6), Bytes{0xFA});
  i8042.inject_mouse(4, 0, 0);
  EXPECT_EQ(drain(), (Bytes{0x08, 0x04, 0x00}));
}

TEST_F(MouseTest, RemoteModeReportsOnReadData) {
  ASSERT_EQ(mouse_command(0xF0), Bytes{0xFA});
  i8042.inject_mouse(3, 0, 0);
  i8042.inject_mouse(4, -2, 0x02);  // up 2 on screen: +2 in PS/2 y
  EXPECT_EQ(drain(), Bytes{});
  EXPECT_EQ(mouse_command(0xEB), (Bytes{0xFA, 0x0A, 0x07, 0x02}));
  EXPECT_EQ(mouse_command(0xEB), (Bytes{0xFA, 0x0A, 0x00, 0x00}));  // counters restarted
  i8042.inject_mouse(1000, 0, 0);
  EXPECT_EQ(mouse_command(0xEB), (Bytes{0xFA, 0x48, 0xFF, 0x00}));  // x overflow, clamped to 255
  EXPECT_EQ(mouse_command(0xEA), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0xE9)[1] & 0x40, 0);
}

TEST_F(MouseTest, WrapModeEchoes) {
  ASSERT_EQ(mouse_command(0xEE), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0x12), Bytes{0x12});
  EXPECT_EQ(mouse_command(0xF2), Bytes{0xF2});  // commands echo too
  EXPECT_EQ(mouse_command(0xEC), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0xF2), (Bytes{0xFA, 0x00}));
  ASSERT_EQ(mouse_command(0xEE), Bytes{0xFA});
  EXPECT_EQ(mouse_command(0xFF), (Bytes{0xFA, 0xAA, 0x00}));  // reset works from wrap mode
  EXPECT_EQ(mouse_command(0x12), Bytes{0xFE});
}

TEST_F(MouseTest, UnknownMouseCommandIsRefused) {
  EXPECT_EQ(mouse_command(0x00), Bytes{0xFE});
  EXPECT_EQ(mouse_command(0xF7), Bytes{0xFE});
}

TEST_F(MouseTest, DisabledAuxPortDefersMouseData) {
  enable_reporting();
  command(0xA7);
  i8042.inject_mouse(1, 0, 0);
  EXPECT_FALSE(status() & kOutputFull);
  command(0xA8);
  EXPECT_TRUE(mouse_irq->level());
  EXPECT_EQ(drain(), (Bytes{0x08, 0x01, 0x00}));
}

TEST_F(MouseTest, KeyboardDataGoesBeforeMouseData) {
  enable_reporting();
  command(0xAD);
  command(0xA7);
  i8042.inject_mouse(1, 0, 0);
  ASSERT_TRUE(i8042.inject_key("a", true));
  set_command_byte(0x47);  // both ports on at once
  EXPECT_EQ(status() & kAuxData, 0);
  EXPECT_EQ(read_data(), 0x1E);
  EXPECT_EQ(status() & kAuxData, kAuxData);
  EXPECT_EQ(drain(), (Bytes{0x08, 0x01, 0x00}));
}

TEST_F(MouseTest, KeyboardBytesInterleaveBetweenPacketBytes) {
  // The controller picks the source per byte, keyboard first; the AUX bit
  // lets the driver sort them out.
  enable_reporting();
  i8042.inject_mouse(1, 0, 0);
  ASSERT_TRUE(i8042.inject_key("a", true));
  EXPECT_EQ(status() & kAuxData, kAuxData);
  EXPECT_EQ(read_data(), 0x08);
  EXPECT_EQ(status() & kAuxData, 0);
  EXPECT_EQ(read_data(), 0x1E);
  EXPECT_EQ(drain(), (Bytes{0x01, 0x00}));
}

TEST_F(MouseTest, ACommandDropsTheRestOfAPartlySentPacket) {
  enable_reporting();
  i8042.inject_mouse(1, 0, 0);
  EXPECT_EQ(read_data(), 0x08);  // first packet byte; the second moves to the output buffer
  to_mouse(0xF2);
  // The byte already in the controller stays; the packet's last byte is gone.
  EXPECT_EQ(drain(), (Bytes{0x01, 0xFA, 0x00}));
}

TEST_F(MouseTest, WritingToTheMouseReenablesTheAuxPort) {
  command(0xA7);
  to_mouse(0xF2);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0x00}));
  EXPECT_EQ(command_byte() & 0x20, 0);
}

}  // namespace
}  // namespace keel::devices::testing
