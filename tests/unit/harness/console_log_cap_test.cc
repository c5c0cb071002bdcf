#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "src/harness/console_log.h"
#include "src/harness/harness_options.h"

namespace keel::harness {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class ConsoleLogCap : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_ =
      std::filesystem::temp_directory_path() / ("keel-console-log-cap-" + std::to_string(getpid()) + ".log");
};

TEST_F(ConsoleLogCap, WholeLinesUpToTheCapThenOneNote) {
  // Each line is 15 bytes of timestamp + 5 + "\n" = 21 bytes.
  ConsoleLog log(path_, 50);
  log.write_line("line1", 1s);
  log.write_line("line2", 2s);
  log.write_line("line3", 3s);  // 63 > 50: not written
  log.write_line("line4", 4s);
  EXPECT_TRUE(log.close());
  EXPECT_EQ(slurp(path_),
            "[    1.000000] line1\n[    2.000000] line2\n"
            "[    3.000000] [keel: console log truncated at 42 bytes (max-size 50); further lines are dropped]\n");
}

TEST_F(ConsoleLogCap, UnderTheCapEverythingIsWritten) {
  ConsoleLog log(path_, 42);
  log.write_line("line1", 1s);
  log.write_line("line2", 2s);
  EXPECT_TRUE(log.close());
  EXPECT_EQ(slurp(path_), "[    1.000000] line1\n[    2.000000] line2\n");
}

TEST(ConsoleLogDefaults, OneGibibyte) {
  EXPECT_EQ(HarnessOptions{}.console_log_max_size, 1ull << 30);
}

}  // namespace
}  // namespace keel::harness
