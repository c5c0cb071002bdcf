#include "src/harness/boot_test.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "keel/config_error.h"
#include "tests/support/fakes.h"

namespace keel::harness {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class BootTestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("keel-harness-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  void feed(BootTest& test, std::string_view text) { test.feed(std::as_bytes(std::span(text.data(), text.size()))); }

  std::filesystem::path dir;
  testing::FakeClock clock;
};

TEST_F(BootTestTest, WritesConsoleLogJUnitAndJson) {
  HarnessOptions options;
  options.expect = {"Linux version", "x86/fpu:"};
  options.fail_on = {"Kernel panic"};
  options.timeout = 60s;
  options.junit = dir / "junit.xml";
  options.result_json = dir / "result.json";
  options.console_log = dir / "console.log";
  BootTest test(options, clock);
  std::vector<BootTest::State> decided;
  test.set_on_decided([&](BootTest::State s) { decided.push_back(s); });
  EXPECT_EQ(test.deadline(), 60s);

  clock.advance(1234567us);
  feed(test, "Linux version 6.1.0\r\n");
  clock.advance(26s);
  feed(test, "x86/fpu: x87 FPU will use FXSAVE\r\n");
  EXPECT_EQ(decided, std::vector<BootTest::State>{BootTest::State::all_met});
  clock.advance(1s);
  const HarnessResult r = test.finish(VmEnd{.kind = VmEndKind::stopped_by_harness, .exit_status = 0, .description = {}});
  EXPECT_EQ(r.exit_status, 0);

  EXPECT_EQ(read_file(dir / "console.log"),
            "[    1.234567] Linux version 6.1.0\n"
            "[   27.234567] x86/fpu: x87 FPU will use FXSAVE\n");
  const auto doc = nlohmann::json::parse(read_file(dir / "result.json"));
  EXPECT_EQ(doc["status"], "passed");
  EXPECT_DOUBLE_EQ(doc["expectations"][1]["time_s"].get<double>(), 27.234567);
  const std::string junit = read_file(dir / "junit.xml");
  EXPECT_NE(junit.find("tests=\"4\" failures=\"0\" errors=\"0\""), std::string::npos) << junit;
}

TEST_F(BootTestTest, TimeoutThroughTheFacade) {
  HarnessOptions options;
  options.expect = {"never"};
  options.timeout = 2s;
  BootTest test(options, clock);
  clock.advance(2s);
  EXPECT_TRUE(test.check_deadline());
  EXPECT_EQ(test.state(), BootTest::State::timed_out);
  EXPECT_EQ(test.finish(VmEnd{.kind = VmEndKind::stopped_by_harness, .exit_status = 0, .description = {}}).exit_status,
            kExitTimeout);
}

TEST_F(BootTestTest, BadPathsAreConfigErrorsBeforeTheRun) {
  HarnessOptions options;
  options.junit = dir / "no-such-dir" / "junit.xml";
  EXPECT_THROW(BootTest(options, clock), ConfigError);
  options.junit.reset();
  options.result_json = dir;  // a directory
  EXPECT_THROW(BootTest(options, clock), ConfigError);
  options.result_json.reset();
  options.console_log = dir / "no-such-dir" / "console.log";
  try {
    BootTest test(options, clock);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("cannot open --console-log file '", 0), 0u) << error.what();
  }
}

TEST_F(BootTestTest, ReportThatCannotBeWrittenTurnsAPassIntoAnError) {
  HarnessOptions options;
  options.expect = {"ok"};
  options.result_json = dir / "sub" / "result.json";
  std::filesystem::create_directories(dir / "sub");
  BootTest test(options, clock);
  feed(test, "ok\n");
  std::filesystem::remove_all(dir / "sub");  // gone by the time the VM ends
  EXPECT_EQ(test.finish(VmEnd{.kind = VmEndKind::stopped_by_harness, .exit_status = 0, .description = {}}).exit_status,
            kExitVmError);
}

TEST(ConsoleLogTimestamp, DmesgStyle) {
  EXPECT_EQ(ConsoleLog::timestamp(0ns), "[    0.000000] ");
  EXPECT_EQ(ConsoleLog::timestamp(12345678912ns), "[   12.345678] ");
  EXPECT_EQ(ConsoleLog::timestamp(123456s), "[123456.000000] ");
  EXPECT_EQ(ConsoleLog::timestamp(-5s), "[    0.000000] ");
}

TEST(HarnessOptions, EnabledByAnyOption) {
  HarnessOptions options;
  EXPECT_FALSE(options.enabled());
  options.console_log = "x";
  EXPECT_TRUE(options.enabled());
  options = {};
  options.timeout = 1s;
  EXPECT_TRUE(options.enabled());
}

}  // namespace
}  // namespace keel::harness
