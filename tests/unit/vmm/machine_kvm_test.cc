// Boots the embedded probe guest through run_machine() when /dev/kvm is
// usable: the whole path from MachineConfig to exit status, with the serial
// output captured in a file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "keel/config_error.h"
#include "src/vmm/machine.h"

namespace keel::vmm {
namespace {

#define REQUIRE_KVM()                                                                        \
  do {                                                                                       \
    if (!std::filesystem::exists("/dev/kvm")) GTEST_SKIP() << "SKIPPED: no /dev/kvm: host has no KVM"; \
    if (access("/dev/kvm", R_OK | W_OK) != 0)                                                \
      GTEST_SKIP() << "SKIPPED: no /dev/kvm: not accessible to this user";                   \
  } while (0)

class MachineKvm : public ::testing::Test {
 protected:
  void SetUp() override {
    serial_ = std::filesystem::temp_directory_path() /
              ("keel-machine-test-" + std::to_string(getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt");
  }
  void TearDown() override { std::filesystem::remove(serial_); }

  MachineConfig config(const std::string& cmdline, uint32_t cpus = 1) {
    MachineConfig c;
    c.cmdline = cmdline;
    c.cpus = cpus;
    c.memory.size_bytes = 64ull << 20;
    c.serial = ConsoleSpec{.kind = ConsoleKind::file, .path = serial_};
    return c;
  }
  std::string serial_text() {
    std::ifstream in(serial_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::filesystem::path serial_;
};

TEST_F(MachineKvm, DefaultGuestDemoExitsZero) {
  REQUIRE_KVM();
  EXPECT_EQ(run_machine(config("")), 0);
  EXPECT_NE(serial_text().find("probe demo: done"), std::string::npos) << serial_text();
}

TEST_F(MachineKvm, UartSuitePassesWithIrq4) {
  REQUIRE_KVM();
  EXPECT_EQ(run_machine(config("tests=uart")), 0) << serial_text();
  EXPECT_NE(serial_text().find("ok 9 - uart: THRE interrupt when ETBEI is enabled (IRQ 4)"), std::string::npos)
      << serial_text();
}

TEST_F(MachineKvm, DebugExitValueBecomesTheExitStatus) {
  REQUIRE_KVM();
  // The probe writes 2 to the debug-exit port for an unknown suite.
  EXPECT_EQ(run_machine(config("tests=no-such-suite")), 2) << serial_text();
}

TEST_F(MachineKvm, TwoCpusStartTheAp) {
  REQUIRE_KVM();
  EXPECT_EQ(run_machine(config("tests=smp", 2)), 0) << serial_text();
  EXPECT_NE(serial_text().find("ok 3 - smp: every AP starts and reports"), std::string::npos) << serial_text();
}

TEST_F(MachineKvm, KeysInjectedAfterPrompt) {
  REQUIRE_KVM();
  MachineConfig c = config("tests=i8042-inject");
  c.key_injection = KeyInjection{.after_console_regex = "i8042-inject: ready", .keys = {"a", "b", "ret"}};
  EXPECT_EQ(run_machine(c), 0) << serial_text();
  EXPECT_NE(serial_text().find("[1e 9e 30 b0 1c 9c]"), std::string::npos) << serial_text();
}

TEST_F(MachineKvm, BadConfigurationIsAConfigError) {
  EXPECT_THROW(run_machine(config("", 0)), ConfigError);
  EXPECT_THROW(run_machine(config("", 65)), ConfigError);
  REQUIRE_KVM();
  MachineConfig c = config("");
  c.debug_exit_port = 0x3f8;  // collides with COM1
  EXPECT_THROW(run_machine(c), ConfigError);
  c = config("");
  c.key_injection = KeyInjection{.after_console_regex = "(", .keys = {"a"}};
  EXPECT_THROW(run_machine(c), ConfigError);
}

}  // namespace
}  // namespace keel::vmm
