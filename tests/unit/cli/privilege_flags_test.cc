// keel run --user / --group / --chroot on the command line.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "src/cli/command_line.h"
#include "tests/unit/cli/parse_test_support.h"

namespace keel::cli {
namespace {

// `keel run ARGS...`
ParseOutcome parse(std::vector<std::string> args) {
  args.insert(args.begin(), "run");
  return test_support::parse(std::move(args));
}

std::string error_of(std::vector<std::string> args) {
  args.insert(args.begin(), "run");
  return test_support::error_of(std::move(args));
}

class PrivilegeFlags : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "keel-cli-priv-XXXXXX").string();
    dir = mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(PrivilegeFlags, NoneGivenIsNoDrop) {
  const ParseOutcome outcome = parse({});
  ASSERT_TRUE(outcome.config) << outcome.error;
  EXPECT_FALSE(outcome.config->privileges.any());
}

TEST_F(PrivilegeFlags, BadValuesAreOneLineNamingThem) {
  EXPECT_NE(error_of({"--user", "no-such-keel-user"}).find("--user 'no-such-keel-user': no such user"),
            std::string::npos);
  EXPECT_NE(error_of({"--group", "4242"}).find("--group '4242' needs --user"), std::string::npos);
  EXPECT_NE(error_of({"--chroot", (dir / "missing").string()}).find("No such file or directory"), std::string::npos);
  EXPECT_NE(error_of({"--user", "root"}).find("is root (uid 0)"), std::string::npos);
}

TEST_F(PrivilegeFlags, ResolvedAtParseTime) {
  if (geteuid() != 0) GTEST_SKIP() << "--user needs root";
  const passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  const ParseOutcome outcome = parse({"--user", "nobody", "--group", "4242", "--chroot", dir.string()});
  ASSERT_TRUE(outcome.config) << outcome.error;
  EXPECT_EQ(outcome.config->privileges.uid, nobody->pw_uid);
  EXPECT_EQ(outcome.config->privileges.gid, 4242u);
  EXPECT_EQ(outcome.config->privileges.chroot_dir, dir);
}

// The key player's thread starts after the drop, like every other thread.
TEST_F(PrivilegeFlags, SendKeysCombinesWithThem) {
  if (geteuid() != 0) GTEST_SKIP() << "--user needs root";
  const ParseOutcome outcome = parse({"--user", "nobody", "--chroot", dir.string(), "--send-keys", "a"});
  ASSERT_TRUE(outcome.config) << outcome.error;
  ASSERT_TRUE(outcome.config->key_injection.has_value());
  EXPECT_EQ(outcome.config->key_injection->keys, (std::vector<std::string>{"a"}));
}

TEST_F(PrivilegeFlags, ReportsMustBeWritableByTheNewUser) {
  if (geteuid() != 0) GTEST_SKIP() << "--user needs root";
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);  // root's: nobody cannot create files here
  const std::string report = (dir / "r.json").string();
  EXPECT_NE(error_of({"--user", "nobody", "--result-json", report}).find("who cannot create files in"),
            std::string::npos);
  EXPECT_NE(error_of({"--user", "nobody", "--junit", (dir / "r.xml").string()}).find("--junit"), std::string::npos);
  ASSERT_EQ(chown(dir.c_str(), getpwnam("nobody")->pw_uid, static_cast<gid_t>(-1)), 0);
  const ParseOutcome outcome = parse({"--user", "nobody", "--result-json", report});
  EXPECT_TRUE(outcome.config) << outcome.error;
}

}  // namespace
}  // namespace keel::cli
