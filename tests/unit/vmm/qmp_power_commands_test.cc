// system_powerdown and SIGPWR (src/vmm/qmp_power_commands.h,
// host_signals.h): the press reaches the button, POWERDOWN goes out, and
// SIGPWR is not a stop. No KVM: the button is a counter.
#include "src/vmm/qmp_power_commands.h"

#include <pthread.h>
#include <signal.h>

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "src/vmm/host_signals.h"
#include "src/vmm/vm_control.h"

namespace keel::vmm {
namespace {

using qmp::Json;

struct Recorder {
  int presses = 0;
  bool enabled = true;
  std::vector<std::pair<std::string, Json>> events;

  PowerButton button() {
    return PowerButton([this] { ++presses; return enabled; },
                       [this](std::string_view name, const Json& data) { events.emplace_back(name, data); });
  }
};

qmp::CommandResult call(qmp::CommandRegistry& registry, std::string_view name) {
  const qmp::Command* command = registry.find(name);
  EXPECT_NE(command, nullptr) << name;
  if (command == nullptr) return qmp::generic_error("missing");
  qmp::CommandContext context{.command_mode = true};
  return command->handler(Json::object(), context);
}

TEST(SystemPowerdown, PressesTheButtonSendsPowerdownAndRepliesEmpty) {
  Recorder recorder;
  PowerButton button = recorder.button();
  qmp::CommandRegistry registry;
  button.register_commands(registry);
  const qmp::CommandResult result = call(registry, "system_powerdown");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, Json::object());
  EXPECT_EQ(recorder.presses, 1);
  ASSERT_EQ(recorder.events.size(), 1u);
  EXPECT_EQ(recorder.events[0].first, "POWERDOWN");
  EXPECT_TRUE(recorder.events[0].second.is_null());  // QEMU 7.2: no "data"
}

TEST(SystemPowerdown, TakesNoArguments) {
  Recorder recorder;
  PowerButton button = recorder.button();
  qmp::CommandRegistry registry;
  button.register_commands(registry);
  const qmp::Command* command = registry.find("system_powerdown");
  ASSERT_NE(command, nullptr);
  EXPECT_TRUE(qmp::check_arguments(Json{{"force", true}}, command->arguments).has_value());
  EXPECT_FALSE(qmp::check_arguments(Json::object(), command->arguments).has_value());
}

TEST(SystemPowerdown, ButtonTheGuestIgnoresStillSendsTheEventAndSucceeds) {
  Recorder recorder;
  recorder.enabled = false;  // PWRBTN_EN clear
  PowerButton button = recorder.button();
  qmp::CommandRegistry registry;
  button.register_commands(registry);
  EXPECT_TRUE(call(registry, "system_powerdown").has_value());
  EXPECT_EQ(recorder.presses, 1);
  EXPECT_EQ(recorder.events.size(), 1u);
}

TEST(SystemPowerdown, NoButtonAndNoQmpClientIsHarmless) {
  PowerButton button({}, {});
  button.press("test");  // logs; nothing to press, nobody to tell
}

TEST(HostSignalsPower, SigpwrPressesTheButtonAndDoesNotStop) {
  MachineControl control;
  int presses = 0;
  {
    HostSignals signals;  // blocks SIGINT/SIGTERM/SIGPWR on this thread
    signals.set_power_button([&presses] { ++presses; });
    ASSERT_EQ(pthread_kill(pthread_self(), SIGPWR), 0);
    signals.handle_pending(control);
    EXPECT_EQ(presses, 1);
    EXPECT_FALSE(control.stop_requested());
    ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
    signals.handle_pending(control);
    EXPECT_TRUE(control.stop_requested());  // SIGTERM stays an immediate stop
    EXPECT_EQ(presses, 1);
  }
}

TEST(HostSignalsPower, SigpwrWithoutAButtonIsIgnored) {
  MachineControl control;
  HostSignals signals;
  ASSERT_EQ(pthread_kill(pthread_self(), SIGPWR), 0);
  signals.handle_pending(control);  // logged, not fatal (SIGPWR's default action would end keel)
  EXPECT_FALSE(control.stop_requested());
}

}  // namespace
}  // namespace keel::vmm
