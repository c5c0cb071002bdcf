// QMP's send-key and input-send-event (src/vmm/qmp_input_commands.h) on a
// real i8042 model: the scancodes and mouse packets a guest would read from
// port 0x60, the hold-time timer on a fake clock, and QEMU 7.2's error words
// (captured from qemu-system-x86_64 7.2 for the same requests).
#include "src/vmm/qmp_input_commands.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "src/qmp/command_registry.h"
#include "tests/support/fakes.h"
#include "tests/unit/devices/i8042/i8042_fixture.h"

namespace keel::vmm {
namespace {

using devices::testing::Bytes;
using qmp::Json;
using namespace std::chrono_literals;

class QmpInput : public devices::testing::I8042Test {
 protected:
  QmpInput() { commands_.register_commands(registry_); }

  qmp::CommandResult run(const std::string& name, const Json& arguments) {
    const qmp::Command* command = registry_.find(name);
    EXPECT_NE(command, nullptr);
    if (auto error = qmp::check_arguments(arguments, command->arguments)) return std::unexpected(*error);
    qmp::CommandContext context{.command_mode = true};
    return command->handler(arguments, context);
  }
  void ok(const std::string& name, const Json& arguments) {
    const qmp::CommandResult result = run(name, arguments);
    ASSERT_TRUE(result.has_value()) << result.error().desc;
    EXPECT_EQ(*result, Json::object());
  }
  std::string error(const std::string& name, const Json& arguments,
                    qmp::ErrorClass error_class = qmp::ErrorClass::generic_error) {
    const qmp::CommandResult result = run(name, arguments);
    if (result.has_value()) {
      ADD_FAILURE() << name << " " << arguments.dump() << " succeeded";
      return "";
    }
    EXPECT_EQ(result.error().error_class, error_class);
    return result.error().desc;
  }
  static Json qcode(const std::string& name) { return Json{{"type", "qcode"}, {"data", name}}; }
  static Json number(int64_t value) { return Json{{"type", "number"}, {"data", value}}; }
  static Json key_event(const Json& key, bool down) {
    return Json{{"type", "key"}, {"data", Json{{"key", key}, {"down", down}}}};
  }
  static Json button(const std::string& name, bool down) {
    return Json{{"type", "btn"}, {"data", Json{{"button", name}, {"down", down}}}};
  }
  static Json motion(const std::string& type, const std::string& axis, int64_t value) {
    return Json{{"type", type}, {"data", Json{{"axis", axis}, {"value", value}}}};
  }
  void enable_mouse() {
    set_command_byte(0x47);  // both ports and IRQs on, translation on
    to_mouse(0xF4);          // enable reporting
    ASSERT_EQ(drain(), Bytes{0xFA});
  }

  keel::testing::FakeClock clock_;
  RunState state_ = RunState::running;
  InputCommands commands_{[this] { return &i8042; }, [this] { return state_; }, clock_, clock_};
  qmp::CommandRegistry registry_;
};

TEST_F(QmpInput, SendKeyPressesAtOnceAndReleasesInReverseAfterTheDefaultHold) {
  ok("send-key", {{"keys", Json::array({qcode("shift"), qcode("a")})}});
  EXPECT_EQ(drain(), (Bytes{0x2A, 0x1E}));  // set 2 translated to set 1, as the default command byte asks
  EXPECT_EQ(commands_.pending_steps(), 2u);
  clock_.advance(99ms);
  EXPECT_EQ(drain(), Bytes{});
  clock_.advance(1ms);
  EXPECT_EQ(drain(), (Bytes{0x9E, 0xAA}));
  EXPECT_EQ(commands_.pending_steps(), 0u);
  EXPECT_EQ(clock_.armed_timers(), 0);
}

TEST_F(QmpInput, SendKeyWithoutTranslationGivesSet2AndHonoursHoldTime) {
  set_command_byte(0x25);  // translation off
  ok("send-key", {{"keys", Json::array({qcode("ctrl_r"), qcode("x")})}, {"hold-time", 500}});
  EXPECT_EQ(drain(), (Bytes{0xE0, 0x14, 0x22}));
  clock_.advance(499ms);
  EXPECT_EQ(drain(), Bytes{});
  clock_.advance(1ms);
  EXPECT_EQ(drain(), (Bytes{0xF0, 0x22, 0xE0, 0xF0, 0x14}));
}

TEST_F(QmpInput, ASecondSendKeyWaitsUntilTheFirstReleasedItsKeys) {
  ok("send-key", {{"keys", Json::array({qcode("a")})}});
  clock_.advance(50ms);
  ok("send-key", {{"keys", Json::array({qcode("b")})}});
  EXPECT_EQ(drain(), Bytes{0x1E});  // b is not pressed while a is held
  clock_.advance(50ms);
  EXPECT_EQ(drain(), (Bytes{0x9E, 0x30}));  // a released, then b pressed
  clock_.advance(100ms);
  EXPECT_EQ(drain(), Bytes{0xB0});
}

TEST_F(QmpInput, HoldTimeIsClamped) {
  ok("send-key", {{"keys", Json::array({qcode("a")})}, {"hold-time", -5}});
  EXPECT_EQ(drain(), (Bytes{0x1E, 0x9E}));  // negative: no hold at all
  ok("send-key", {{"keys", Json::array({qcode("a")})}, {"hold-time", 1'000'000'000}});
  clock_.advance(InputCommands::kMaxHold);
  EXPECT_EQ(drain(), (Bytes{0x1E, 0x9E}));
}

TEST_F(QmpInput, NumberKeysAreQemuQnums) {
  EXPECT_EQ(devices::I8042::key_name_for_number(0x1E), "a");
  EXPECT_EQ(devices::I8042::key_name_for_number(0x9C), "kp_enter");
  EXPECT_EQ(devices::I8042::key_name_for_number(0xC8), "up");
  EXPECT_EQ(devices::I8042::key_name_for_number(0xB7), "print");
  EXPECT_EQ(devices::I8042::key_name_for_number(0xC6), "pause");
  EXPECT_EQ(devices::I8042::key_name_for_number(0x37), "kp_multiply");
  EXPECT_EQ(devices::I8042::key_name_for_number(0x3B), "f1");
  EXPECT_EQ(devices::I8042::key_name_for_number(99999), std::nullopt);
  ok("send-key", {{"keys", Json::array({number(0xC8)})}, {"hold-time", 0}});
  EXPECT_EQ(drain(), (Bytes{0xE0, 0x48, 0xE0, 0xC8}));
  // QEMU accepts a number no key has and sends nothing.
  ok("send-key", {{"keys", Json::array({number(99999), number(-1)})}});
  EXPECT_EQ(commands_.pending_steps(), 0u);
  EXPECT_EQ(drain(), Bytes{});
}

TEST_F(QmpInput, SendKeyArgumentErrorsUseQemuWords) {
  EXPECT_EQ(error("send-key", {{"keys", Json::array({qcode("foo")})}}), "Parameter 'data' does not accept value 'foo'");
  EXPECT_EQ(error("send-key", {{"keys", Json::array({Json{{"type", "bogus"}, {"data", 1}}})}}),
            "Parameter 'type' does not accept value 'bogus'");
  EXPECT_EQ(error("send-key", {{"keys", Json::array({Json{{"data", 1}}})}}), "Parameter 'keys[0].type' is missing");
  EXPECT_EQ(error("send-key", {{"keys", Json::array({Json{{"type", "qcode"}}})}}),
            "Parameter 'keys[0].data' is missing");
  EXPECT_EQ(error("send-key", {{"keys", Json::array({qcode("a"), Json{{"type", "number"}, {"data", "x"}}})}}),
            "Invalid parameter type for 'keys[1].data', expected: integer");
  EXPECT_EQ(error("send-key", {{"keys", Json::array({5})}}), "Invalid parameter type for 'keys[0]', expected: object");
  EXPECT_EQ(error("send-key", {{"keys", 5}}), "Invalid parameter type for 'keys', expected: array");
  EXPECT_EQ(error("send-key", Json::object()), "Parameter 'keys' is missing");
  EXPECT_EQ(error("send-key", {{"keys", Json::array({Json{{"type", "qcode"}, {"data", "a"}, {"x", 1}}})}}),
            "Parameter 'keys[0].x' is unexpected");
  EXPECT_EQ(error("send-key", {{"keys", Json::array({qcode("a")})}, {"hold-time", "x"}}),
            "Invalid parameter type for 'hold-time', expected: integer");
  // A refused list sends nothing, not even the keys before the bad one.
  EXPECT_EQ(drain(), Bytes{});
  EXPECT_EQ(commands_.pending_steps(), 0u);
}

TEST_F(QmpInput, SendKeyRefusesAnOverlongQueue) {
  ok("send-key", {{"keys", Json::array({qcode("a")})}});  // held: what follows waits in the queue
  Json keys = Json::array();
  for (size_t i = 0; i < InputCommands::kMaxPendingSteps / 2 - 1; ++i) keys.push_back(qcode("a"));
  ok("send-key", {{"keys", keys}});
  EXPECT_EQ(commands_.pending_steps(), InputCommands::kMaxPendingSteps - 1);
  EXPECT_NE(error("send-key", {{"keys", Json::array({qcode("a")})}}).find("too many keys"), std::string::npos);
}

TEST_F(QmpInput, InputSendEventKeys) {
  ok("input-send-event", {{"events", Json::array({key_event(qcode("a"), true), key_event(number(0x30), true),
                                                  key_event(qcode("a"), false)})}});
  EXPECT_EQ(drain(), (Bytes{0x1E, 0x30, 0x9E}));
}

TEST_F(QmpInput, InputSendEventMouseMotionAndButtonsMakeOnePacket) {
  enable_mouse();
  ok("input-send-event", {{"events", Json::array({button("left", true), motion("rel", "x", 5),
                                                  motion("rel", "y", 3)})}});
  // Screen y down is PS/2 y negative: -3 is 0xFD with the y sign bit (0x20).
  EXPECT_EQ(drain(), (Bytes{0x08 | 0x01 | 0x20, 0x05, 0xFD}));
  ok("input-send-event", {{"events", Json::array({motion("rel", "x", -2)})}});
  EXPECT_EQ(drain(), (Bytes{0x08 | 0x01 | 0x10, 0xFE, 0x00}));  // left still down
}

TEST_F(QmpInput, AClickInOneCallIsTwoPackets) {
  enable_mouse();
  ok("input-send-event", {{"events", Json::array({button("right", true), button("right", false),
                                                  button("wheel-up", true), button("side", true)})}});
  EXPECT_EQ(drain(), (Bytes{0x0A, 0x00, 0x00, 0x08, 0x00, 0x00}));
}

TEST_F(QmpInput, InputSendEventRefusals) {
  enable_mouse();
  EXPECT_EQ(error("input-send-event", {{"events", Json::array({motion("rel", "x", 5), motion("abs", "x", 5)})}}),
            "Input handler not found for event type abs");
  EXPECT_EQ(drain(), Bytes{});  // nothing of a refused list is sent
  EXPECT_EQ(error("input-send-event", {{"device", "x"}, {"events", Json::array()}}, qmp::ErrorClass::device_not_found),
            "Device 'x' not found");
  EXPECT_EQ(error("input-send-event", {{"events", Json::array({motion("rel", "z", 5)})}}),
            "Parameter 'axis' does not accept value 'z'");
  EXPECT_EQ(error("input-send-event", {{"events", Json::array({button("bogus", true)})}}),
            "Parameter 'button' does not accept value 'bogus'");
  EXPECT_EQ(error("input-send-event", {{"events", Json::array({Json{{"type", "foo"}, {"data", Json::object()}}})}}),
            "Parameter 'type' does not accept value 'foo'");
  EXPECT_EQ(error("input-send-event", {{"events", Json::array({Json{{"type", "rel"}}})}}),
            "Parameter 'events[0].data' is missing");
  EXPECT_EQ(error("input-send-event",
                  {{"events", Json::array({Json{{"type", "key"}, {"data", Json{{"key", qcode("a")}}}}})}}),
            "Parameter 'events[0].data.down' is missing");
  EXPECT_EQ(error("input-send-event",
                  {{"events", Json::array({Json{{"type", "rel"}, {"data", Json{{"axis", "x"}, {"value", "a"}}}}})}}),
            "Invalid parameter type for 'events[0].data.value', expected: integer");
  state_ = RunState::paused;
  EXPECT_EQ(error("input-send-event", {{"events", Json::array({motion("rel", "x", 5)})}}), "VM not running");
  EXPECT_EQ(drain(), Bytes{});
}

TEST_F(QmpInput, HugeMotionIsClampedNotWrapped) {
  enable_mouse();
  ok("input-send-event", {{"events", Json::array({motion("rel", "x", 99'999'999'999), motion("rel", "x", 1)})}});
  const Bytes packets = drain();
  ASSERT_GE(packets.size(), 3u);
  EXPECT_EQ(packets[0] & 0x10, 0);  // x positive
}

}  // namespace
}  // namespace keel::vmm
