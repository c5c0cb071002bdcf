// The PS/2 keyboard behind the controller: commands, scancodes, translation,
// IRQ 1 and buffering.
#include "tests/unit/devices/i8042/i8042_fixture.h"

namespace keel::devices::testing {
namespace {

constexpr uint8_t kUntranslated = 0x25;  // keyboard IRQ, system flag, mouse port off, no translation

void press_and_release(I8042& i8042, std::string_view key) {
  EXPECT_TRUE(i8042.inject_key(key, true));
  EXPECT_TRUE(i8042.inject_key(key, false));
}

TEST_F(I8042Test, KeyboardResetAnswersAckThenSelfTestPassed) {
  data(0xFF);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xAA}));
}

TEST_F(I8042Test, KeyboardEcho) {
  data(0xEE);
  EXPECT_EQ(drain(), (Bytes{0xEE}));
}

TEST_F(I8042Test, KeyboardIdentifyThroughTranslationAndWithout) {
  data(0xF2);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xAB, 0x41}));  // 0x83 translated, as guests expect
  set_command_byte(kUntranslated);
  data(0xF2);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xAB, 0x83}));
}

TEST_F(I8042Test, KeyboardSetLeds) {
  data(0xED);
  EXPECT_EQ(drain(), (Bytes{0xFA}));
  data(0x07);
  EXPECT_EQ(drain(), (Bytes{0xFA}));
}

TEST_F(I8042Test, KeyboardTypematicRate) {
  data(0xF3);
  data(0x20);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA}));
  data(0xF3);
  data(0x80);  // bit 7 must be 0
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFE}));
}

TEST_F(I8042Test, KeyboardGetScancodeSet) {
  // ACK for the command, ACK for the parameter, then the set.
  data(0xF0);
  data(0x00);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA, 0x41}));  // "2" through the translation table
  set_command_byte(kUntranslated);
  data(0xF0);
  data(0x00);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA, 0x02}));
}

TEST_F(I8042Test, KeyboardRefusesUnsupportedScancodeSetsAndUnknownCommands) {
  data(0xF0);
  data(0x03);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFE}));
  data(0x42);
  EXPECT_EQ(drain(), (Bytes{0xFE}));
  data(0xF9);
  EXPECT_EQ(drain(), (Bytes{0xFE}));
}

TEST_F(I8042Test, KeyboardResendRepeatsTheLastByte) {
  data(0xEE);
  EXPECT_EQ(drain(), (Bytes{0xEE}));
  data(0xFE);
  EXPECT_EQ(drain(), (Bytes{0xEE}));
}

TEST_F(I8042Test, Set2CodesForALetter) {
  set_command_byte(kUntranslated);
  press_and_release(i8042, "a");
  EXPECT_EQ(drain(), (Bytes{0x1C, 0xF0, 0x1C}));
}

TEST_F(I8042Test, Set2CodesForAnExtendedKey) {
  set_command_byte(kUntranslated);
  press_and_release(i8042, "up");
  EXPECT_EQ(drain(), (Bytes{0xE0, 0x75, 0xE0, 0xF0, 0x75}));
}

TEST_F(I8042Test, TranslationGivesSet1Codes) {
  press_and_release(i8042, "a");
  EXPECT_EQ(drain(), (Bytes{0x1E, 0x9E}));
  press_and_release(i8042, "up");
  EXPECT_EQ(drain(), (Bytes{0xE0, 0x48, 0xE0, 0xC8}));
  press_and_release(i8042, "f7");  // the one set 2 code above 0x7F
  EXPECT_EQ(drain(), (Bytes{0x41, 0xC1}));
}

TEST_F(I8042Test, TranslationOfSpecialKeys) {
  press_and_release(i8042, "pause");
  EXPECT_EQ(drain(), (Bytes{0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5}));
  press_and_release(i8042, "print");
  EXPECT_EQ(drain(), (Bytes{0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA}));
}

TEST_F(I8042Test, KeyboardSpeakingSet1Itself) {
  set_command_byte(kUntranslated);
  data(0xF0);
  data(0x01);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA}));
  press_and_release(i8042, "ctrl_r");
  EXPECT_EQ(drain(), (Bytes{0xE0, 0x1D, 0xE0, 0x9D}));
  data(0xF0);
  data(0x00);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA, 0x01}));
}

TEST_F(I8042Test, CommonKeysMapToTheirSet1Codes) {
  struct Case {
    const char* name;
    Bytes make;
  };
  const Case cases[] = {
      {"esc", {0x01}},         {"1", {0x02}},          {"0", {0x0B}},        {"minus", {0x0C}},
      {"backspace", {0x0E}},   {"tab", {0x0F}},        {"q", {0x10}},        {"ret", {0x1C}},
      {"ctrl", {0x1D}},        {"shift", {0x2A}},      {"z", {0x2C}},        {"slash", {0x35}},
      {"shift_r", {0x36}},     {"alt", {0x38}},        {"spc", {0x39}},      {"caps_lock", {0x3A}},
      {"f1", {0x3B}},          {"f10", {0x44}},        {"f11", {0x57}},      {"f12", {0x58}},
      {"num_lock", {0x45}},    {"kp_7", {0x47}},       {"kp_0", {0x52}},     {"kp_decimal", {0x53}},
      {"home", {0xE0, 0x47}},  {"end", {0xE0, 0x4F}},  {"pgup", {0xE0, 0x49}}, {"pgdn", {0xE0, 0x51}},
      {"insert", {0xE0, 0x52}}, {"delete", {0xE0, 0x53}}, {"left", {0xE0, 0x4B}}, {"right", {0xE0, 0x4D}},
      {"down", {0xE0, 0x50}},  {"alt_r", {0xE0, 0x38}}, {"kp_enter", {0xE0, 0x1C}}, {"meta_l", {0xE0, 0x5B}},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(i8042.inject_key(c.name, true));
    EXPECT_EQ(drain(), c.make) << c.name;
    EXPECT_TRUE(i8042.inject_key(c.name, false));
    drain();
  }
}

TEST_F(I8042Test, UnknownKeyNamesAreRejected) {
  EXPECT_FALSE(i8042.inject_key("", true));
  EXPECT_FALSE(i8042.inject_key("A", true));  // names are lower case
  EXPECT_FALSE(i8042.inject_key("not_a_key", true));
  EXPECT_FALSE(i8042.inject_key(std::string_view("a\0", 2), true));
  EXPECT_FALSE(status() & kOutputFull);
}

TEST_F(I8042Test, Irq1FollowsTheOutputBuffer) {
  keyboard_irq->reset_count();
  ASSERT_TRUE(i8042.inject_key("up", true));  // two bytes: E0 48
  EXPECT_TRUE(keyboard_irq->level());
  EXPECT_EQ(keyboard_irq->rising_edges(), 1);
  EXPECT_EQ(read_data(), 0xE0);
  // The line dropped and rose again for the second byte: a new edge.
  EXPECT_TRUE(keyboard_irq->level());
  EXPECT_EQ(keyboard_irq->rising_edges(), 2);
  EXPECT_EQ(read_data(), 0x48);
  EXPECT_FALSE(keyboard_irq->level());
  EXPECT_FALSE(mouse_irq->level());
}

TEST_F(I8042Test, NoIrq1WhenTheCommandByteDisablesIt) {
  set_command_byte(0x64);
  ASSERT_TRUE(i8042.inject_key("a", true));
  EXPECT_TRUE(status() & kOutputFull);
  EXPECT_FALSE(keyboard_irq->level());
  EXPECT_EQ(read_data(), 0x1E);
}

TEST_F(I8042Test, ScanningDisabledDropsKeys) {
  data(0xF5);
  EXPECT_EQ(drain(), (Bytes{0xFA}));
  EXPECT_TRUE(i8042.inject_key("a", true));  // known name, but dropped
  EXPECT_EQ(drain(), Bytes{});
  data(0xF4);
  EXPECT_EQ(drain(), (Bytes{0xFA}));
  ASSERT_TRUE(i8042.inject_key("a", true));
  EXPECT_EQ(drain(), (Bytes{0x1E}));
}

TEST_F(I8042Test, DisabledKeyboardPortDefersKeys) {
  command(0xAD);
  ASSERT_TRUE(i8042.inject_key("a", true));
  EXPECT_FALSE(status() & kOutputFull);  // held in the keyboard, not lost
  EXPECT_FALSE(keyboard_irq->level());
  command(0xAE);
  EXPECT_TRUE(keyboard_irq->level());
  EXPECT_EQ(drain(), (Bytes{0x1E}));
}

TEST_F(I8042Test, DisabledPortInTheCommandByteDefersKeys) {
  set_command_byte(0x75);  // 0x65 plus keyboard disable
  ASSERT_TRUE(i8042.inject_key("b", true));
  EXPECT_FALSE(status() & kOutputFull);
  set_command_byte(0x65);
  EXPECT_EQ(drain(), (Bytes{0x30}));
}

TEST_F(I8042Test, SendingToTheKeyboardReenablesItsPort) {
  command(0xAD);
  data(0xEE);
  EXPECT_EQ(drain(), (Bytes{0xEE}));
  EXPECT_EQ(command_byte() & 0x10, 0);
}

TEST_F(I8042Test, KeyboardBufferOverrunEndsWithTheOverrunCode) {
  for (int i = 0; i < 40; ++i) (void)i8042.inject_key("a", true);
  const Bytes bytes = drain();
  // The first byte moved straight to the output buffer, 15 waited in the
  // keyboard, then one overrun code (set 2's 0x00, translated to 0xFF).
  ASSERT_EQ(bytes.size(), 17u);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(bytes[i], 0x1E) << i;
  EXPECT_EQ(bytes[16], 0xFF);
  ASSERT_TRUE(i8042.inject_key("a", false));  // room again
  EXPECT_EQ(drain(), (Bytes{0x9E}));
}

TEST_F(I8042Test, ReplyGoesAheadOfBufferedScancodes) {
  command(0xAD);
  ASSERT_TRUE(i8042.inject_key("a", true));
  ASSERT_TRUE(i8042.inject_key("a", false));
  data(0xEE);  // also re-enables the port
  EXPECT_EQ(drain(), (Bytes{0xEE, 0x1E, 0x9E}));
}

TEST_F(I8042Test, KeyboardResetClearsBufferedKeysAndRestoresSet2) {
  set_command_byte(kUntranslated);
  data(0xF0);
  data(0x01);
  drain();
  command(0xAD);
  ASSERT_TRUE(i8042.inject_key("a", true));
  data(0xFF);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xAA}));
  press_and_release(i8042, "a");
  EXPECT_EQ(drain(), (Bytes{0x1C, 0xF0, 0x1C}));
}

TEST_F(I8042Test, TranslationHappensInTheControllerAsBytesLeaveTheKeyboard) {
  command(0xAD);  // the keyboard holds its bytes
  press_and_release(i8042, "a");
  set_command_byte(kUntranslated | 0x10);  // translation off, port still disabled
  command(0xAE);
  EXPECT_EQ(drain(), (Bytes{0x1C, 0xF0, 0x1C}));  // what the keyboard really sent
  command(0xAD);
  press_and_release(i8042, "b");
  set_command_byte(0x75);  // translation back on
  command(0xAE);
  EXPECT_EQ(drain(), (Bytes{0x30, 0xB0}));
}

TEST(I8042KnownKeys, AcceptsQemuKeyNamesAndRejectsOthers) {
  EXPECT_TRUE(I8042::is_known_key("a"));
  EXPECT_TRUE(I8042::is_known_key("ret"));
  EXPECT_TRUE(I8042::is_known_key("shift"));
  EXPECT_TRUE(I8042::is_known_key("up"));
  EXPECT_FALSE(I8042::is_known_key("enter"));  // QEMU spells it "ret"
  EXPECT_FALSE(I8042::is_known_key(""));
  EXPECT_FALSE(I8042::is_known_key("A"));
}

}  // namespace
}  // namespace keel::devices::testing
