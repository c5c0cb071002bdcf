// A hostile or confused guest: interrupted command sequences, never reading,
// random port traffic, and injection racing guest accesses.
#include <atomic>
#include <random>
#include <thread>

#include "tests/unit/devices/i8042/i8042_fixture.h"

namespace keel::devices::testing {
namespace {

TEST_F(I8042Test, ACommandAbandonsOneWaitingForItsDataByte) {
  command(0x60);  // write command byte...
  command(0xAA);  // ...interrupted by a self-test
  EXPECT_EQ(read_data(), 0x55);
  data(0xEE);  // goes to the keyboard, not into the command byte
  EXPECT_EQ(drain(), (Bytes{0xEE}));
  EXPECT_EQ(command_byte(), 0x65);

  command(0xD4);  // write to mouse...
  command(0xA7);  // ...interrupted
  data(0xF2);     // keyboard identify, not a mouse command
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xAB, 0x41}));

  command(0xD1);  // write output port...
  command(0x20);  // ...interrupted: a later data byte with bit 0 clear must not reset
  drain();
  data(0x00);
  EXPECT_EQ(vm.requests(), 0);
}

TEST_F(I8042Test, KeyboardCommandInPlaceOfAParameterRunsAsACommand) {
  data(0xED);  // set LEDs, parameter expected...
  data(0xF2);  // ...identify instead
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA, 0xAB, 0x41}));
  data(0xF0);
  data(0xFF);  // reset instead of a scancode set
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA, 0xAA}));
  data(0x01);  // no parameter pending any more: unknown command
  EXPECT_EQ(drain(), (Bytes{0xFE}));
}

TEST_F(I8042Test, MouseCommandInPlaceOfAParameterRunsAsACommand) {
  set_command_byte(0x47);
  to_mouse(0xF3);
  to_mouse(0xFF);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA, 0xAA, 0x00}));
  to_mouse(0xE8);
  to_mouse(0xE9);
  EXPECT_EQ(drain(), (Bytes{0xFA, 0xFA, 0x00, 0x02, 100}));
}

TEST_F(I8042Test, AGuestThatNeverReadsCannotGrowAnything) {
  set_command_byte(0x47);
  for (int i = 0; i < 100000; ++i) {
    data(0xEE);
    to_mouse(0xE9);
    (void)i8042.inject_key("a", (i & 1) == 0);
    i8042.inject_mouse(1000, -1000, static_cast<uint8_t>(i));
  }
  const Bytes bytes = drain(100000);
  EXPECT_LT(bytes.size(), 200u);
  // Afterwards the devices still work.
  data(0xFF);
  to_mouse(0xFF);
  const Bytes after = drain();
  ASSERT_GE(after.size(), 5u);
  EXPECT_EQ(Bytes(after.end() - 5, after.end()), (Bytes{0xFA, 0xAA, 0xFA, 0xAA, 0x00}));
}

TEST_F(I8042Test, RandomPortTrafficNeverBreaksTheController) {
  std::mt19937 random(12345);
  for (int i = 0; i < 200000; ++i) {
    const uint32_t r = random();
    const auto value = static_cast<uint8_t>(r >> 8);
    switch (r % 6) {
      case 0: command(value); break;
      case 1: case 2: data(value); break;
      case 3: (void)read_data(); break;
      case 4: EXPECT_EQ(status() & 0xC2, 0); break;  // no timeout, parity or input-full bits
      case 5:
        if (r & 0x100) {
          (void)i8042.inject_key("up", (r & 0x200) != 0);
        } else {
          i8042.inject_mouse(static_cast<int>(r >> 12) - 0x80000, static_cast<int>(value) - 128, value);
        }
        break;
    }
  }
  // Whatever state the guest left, a driver's normal start-up still works.
  command(0xAD);
  command(0xA7);
  drain();
  set_command_byte(0x47);
  drain();
  EXPECT_EQ(command_byte(), 0x47);
  EXPECT_EQ(query(0xAA), 0x55);
  data(0xFF);
  const Bytes keyboard = drain();
  ASSERT_GE(keyboard.size(), 2u);
  EXPECT_EQ(Bytes(keyboard.end() - 2, keyboard.end()), (Bytes{0xFA, 0xAA}));
  to_mouse(0xFF);
  const Bytes mouse = drain();
  ASSERT_GE(mouse.size(), 3u);
  EXPECT_EQ(Bytes(mouse.end() - 3, mouse.end()), (Bytes{0xFA, 0xAA, 0x00}));
}

TEST_F(I8042Test, InjectionRacesGuestReads) {
  set_command_byte(0x47);
  to_mouse(0xF4);
  drain();
  std::atomic<bool> done{false};
  std::thread injector([&] {
    for (int i = 0; i < 20000; ++i) {
      (void)i8042.inject_key("a", (i & 1) == 0);
      i8042.inject_mouse(1, 1, 0);
    }
    done = true;
  });
  size_t keyboard_bytes = 0;
  auto consume = [&] {
    const uint8_t s = status();
    if (!(s & kOutputFull)) return false;
    const uint8_t byte = read_data();
    if (!(s & kAuxData)) {
      EXPECT_TRUE(byte == 0x1E || byte == 0x9E || byte == 0xFF) << int{byte};
      ++keyboard_bytes;
    }
    return true;
  };
  while (!done.load()) (void)consume();
  injector.join();
  while (consume()) {
  }
  EXPECT_GT(keyboard_bytes, 0u);
}

}  // namespace
}  // namespace keel::devices::testing
