#include "src/harness/report_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "keel/config_error.h"

namespace keel::harness {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class ReportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "keel-report-XXXXXX").string();
    dir = mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(ReportFileTest, WritesTheWholeTextAndLeavesNoTemporaryFile) {
  ReportFile report("--result-json", dir / "r.json");
  report.write("{\"a\": 1}\n");
  EXPECT_EQ(read_file(dir / "r.json"), "{\"a\": 1}\n");
  report.write("{}\n");  // replaces, never appends
  EXPECT_EQ(read_file(dir / "r.json"), "{}\n");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
}

// The directory is held open from set-up: the report lands in it even when
// the path no longer leads there (as after --chroot).
TEST_F(ReportFileTest, WritesThroughTheDirectoryOpenedAtSetUp) {
  std::filesystem::create_directory(dir / "before");
  ReportFile report("--junit", dir / "before" / "r.xml");
  std::filesystem::rename(dir / "before", dir / "after");
  report.write("<x/>\n");
  EXPECT_EQ(read_file(dir / "after" / "r.xml"), "<x/>\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "before"));
}

TEST_F(ReportFileTest, ABareNameIsInTheCurrentDirectory) {
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  ReportFile report("--junit", "bare.xml");
  std::filesystem::current_path(cwd);
  report.write("x");
  EXPECT_EQ(read_file(dir / "bare.xml"), "x");
}

TEST_F(ReportFileTest, AMissingDirectoryIsAConfigErrorNamingIt) {
  try {
    ReportFile report("--junit", dir / "missing" / "r.xml");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("--junit '" + (dir / "missing" / "r.xml").string() + "': cannot open", 0),
              0u)
        << error.what();
  }
}

TEST_F(ReportFileTest, AFailedWriteNamesThePathAndLeavesTheOldReport) {
  std::filesystem::create_directory(dir / "sub");
  ReportFile report("--result-json", dir / "sub" / "r.json");
  report.write("old\n");
  // The temporary name taken by a directory: creating it fails.
  std::filesystem::create_directory(dir / "sub" / ".r.json.keel-tmp");
  try {
    report.write("new\n");
    FAIL();
  } catch (const std::runtime_error& error) {
    const std::string wanted = "cannot write --result-json file '" + (dir / "sub" / "r.json").string();
    EXPECT_EQ(std::string(error.what()).rfind(wanted, 0), 0u)
        << error.what();
  }
  EXPECT_EQ(read_file(dir / "sub" / "r.json"), "old\n");
}

TEST_F(ReportFileTest, ASymlinkAtTheTemporaryNameIsNotFollowed) {
  std::ofstream(dir / "victim") << "keep";
  std::filesystem::create_symlink(dir / "victim", dir / ".r.json.keel-tmp");
  ReportFile report("--result-json", dir / "r.json");
  EXPECT_THROW(report.write("x"), std::runtime_error);
  EXPECT_EQ(read_file(dir / "victim"), "keep");
}

}  // namespace
}  // namespace keel::harness
