#include "src/sandbox/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "keel/config_error.h"

namespace keel::sandbox {
namespace {

constexpr HeldCapabilities kRoot{.setuid = true, .setgid = true, .sys_admin = true, .sys_chroot = true};
constexpr HeldCapabilities kNone{};

std::string config_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError";
  return {};
}

uid_t nobody_uid() { return getpwnam("nobody")->pw_uid; }
gid_t nobody_gid() { return getpwnam("nobody")->pw_gid; }

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "keel-priv-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs `child` in a forked process (the drop cannot be undone) and returns
// its exit status: 0 when every check in it passed, else the failed check's
// number.
int in_child(const std::function<int()>& child) {
  const pid_t pid = fork();
  if (pid == 0) {
    int status = 100;
    try {
      status = child();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      status = 101;
    }
    _exit(status);
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

TEST(ResolveUser, NameGivesItsUidAndPrimaryGroup) {
  const ResolvedUser user = resolve_user("nobody");
  EXPECT_EQ(user.uid, nobody_uid());
  EXPECT_EQ(user.primary_gid, nobody_gid());
}

TEST(ResolveUser, NumberWithAPasswdEntryUsesItsPrimaryGroup) {
  const ResolvedUser user = resolve_user(std::to_string(nobody_uid()));
  EXPECT_EQ(user.uid, nobody_uid());
  EXPECT_EQ(user.primary_gid, nobody_gid());
}

TEST(ResolveUser, NumberWithoutAnEntryIsItsOwnGroup) {
  ASSERT_EQ(getpwuid(54321), nullptr);
  const ResolvedUser user = resolve_user("54321");
  EXPECT_EQ(user.uid, 54321u);
  EXPECT_EQ(user.primary_gid, 54321u);
}

TEST(ResolveUser, UnknownNameIsOneLineNamingIt) {
  const std::string error = config_error([] { resolve_user("no-such-keel-user"); });
  EXPECT_NE(error.find("--user 'no-such-keel-user': no such user"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_NE(config_error([] { resolve_user("12a"); }).find("no such user"), std::string::npos);
  EXPECT_NE(config_error([] { resolve_user(""); }).find("no such user"), std::string::npos);
}

TEST(ResolveUser, RefusesIdsThatAreNoIds) {
  EXPECT_NE(config_error([] { resolve_user("4294967295"); }).find("not a valid user id"), std::string::npos);
  EXPECT_NE(config_error([] { resolve_user("99999999999"); }).find("not a valid user id"), std::string::npos);
}

TEST(ResolveUser, RefusesRoot) {
  EXPECT_NE(config_error([] { resolve_user("root"); }).find("is root (uid 0)"), std::string::npos);
  EXPECT_NE(config_error([] { resolve_user("0"); }).find("is root (uid 0)"), std::string::npos);
}

TEST(ResolveGroup, NamesAndNumbers) {
  EXPECT_EQ(resolve_group("root"), 0u);
  EXPECT_EQ(resolve_group(getgrgid(nobody_gid())->gr_name), nobody_gid());
  EXPECT_EQ(resolve_group("4242"), 4242u);
  EXPECT_NE(config_error([] { resolve_group("no-such-keel-group"); })
                .find("--group 'no-such-keel-group': no such group"),
            std::string::npos);
  EXPECT_NE(config_error([] { resolve_group("4294967295"); }).find("not a valid group id"), std::string::npos);
}

TEST(CheckChrootDir, MustBeAnExistingDirectory) {
  TempDir dir;
  EXPECT_EQ(check_chroot_dir(dir.path()), dir.path());
  const std::string missing = config_error([&] { check_chroot_dir(dir.path() / "missing"); });
  EXPECT_NE(missing.find("--chroot '" + (dir.path() / "missing").string() + "': No such file or directory"),
            std::string::npos)
      << missing;
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_NE(config_error([&] { check_chroot_dir(dir.path() / "file"); }).find("not a directory"), std::string::npos);
  EXPECT_NE(config_error([] { check_chroot_dir(""); }).find("empty"), std::string::npos);
}

TEST(CheckChrootDir, MakesRelativePathsAbsolute) {
  const std::filesystem::path result = check_chroot_dir(".");
  EXPECT_TRUE(result.is_absolute());
  EXPECT_TRUE(std::filesystem::equivalent(result, std::filesystem::current_path()));
}

TEST(ParsePrivilegeOptions, NothingGivenIsNothingToDo) {
  const PrivilegeOptions options = parse_privilege_options(std::nullopt, std::nullopt, std::nullopt, kNone);
  EXPECT_FALSE(options.any());
}

TEST(ParsePrivilegeOptions, UserAloneUsesThePrimaryGroup) {
  const PrivilegeOptions options = parse_privilege_options("nobody", std::nullopt, std::nullopt, kRoot);
  EXPECT_EQ(options.uid, nobody_uid());
  EXPECT_EQ(options.gid, nobody_gid());
  EXPECT_FALSE(options.chroot_dir);
  EXPECT_TRUE(options.any());
}

TEST(ParsePrivilegeOptions, GroupOverridesThePrimaryGroup) {
  const PrivilegeOptions options = parse_privilege_options("nobody", "4242", std::nullopt, kRoot);
  EXPECT_EQ(options.gid, 4242u);
}

TEST(ParsePrivilegeOptions, GroupWithoutUserIsRefused) {
  const std::string error =
      config_error([] { parse_privilege_options(std::nullopt, "4242", std::nullopt, kRoot); });
  EXPECT_NE(error.find("--group '4242' needs --user"), std::string::npos) << error;
}

TEST(ParsePrivilegeOptions, NeedsTheCapabilitiesOfRoot) {
  EXPECT_NE(config_error([] { parse_privilege_options("nobody", std::nullopt, std::nullopt, kNone); })
                .find("--user 'nobody': keel must start as root"),
            std::string::npos);
  TempDir dir;
  const HeldCapabilities only_setuid{.setuid = true, .setgid = true, .sys_admin = false, .sys_chroot = false};
  EXPECT_NE(config_error([&] { parse_privilege_options(std::nullopt, std::nullopt, dir.path().string(), only_setuid); })
                .find("keel must start as root to enter a jail"),
            std::string::npos);
  // A bad name is reported as such, also without the capabilities.
  EXPECT_NE(config_error([] { parse_privilege_options("no-such-keel-user", std::nullopt, std::nullopt, kNone); })
                .find("no such user"),
            std::string::npos);
}

TEST(ParsePrivilegeOptions, ChrootAlone) {
  TempDir dir;
  const PrivilegeOptions options = parse_privilege_options(std::nullopt, std::nullopt, dir.path().string(), kRoot);
  EXPECT_EQ(options.chroot_dir, dir.path());
  EXPECT_FALSE(options.uid);
  EXPECT_TRUE(options.any());
}

TEST(DirectoryWritableBy, FollowsTheOwnerGroupOtherClasses) {
  TempDir dir;
  const std::filesystem::path& d = dir.path();
  const uid_t me = geteuid();
  const uid_t other = me == 54321 ? 54322 : 54321;
  ASSERT_EQ(chmod(d.c_str(), 0700), 0);
  EXPECT_TRUE(directory_writable_by(d, getuid() == 0 ? 0 : me, getegid()));
  struct stat info {};
  ASSERT_EQ(stat(d.c_str(), &info), 0);
  EXPECT_TRUE(directory_writable_by(d, info.st_uid == 0 ? other : info.st_uid, info.st_gid) == (info.st_uid != 0));
  EXPECT_FALSE(directory_writable_by(d, other, 4242));
  ASSERT_EQ(chmod(d.c_str(), 0770), 0);
  EXPECT_TRUE(directory_writable_by(d, other, info.st_gid));
  EXPECT_FALSE(directory_writable_by(d, other, 4242));
  ASSERT_EQ(chmod(d.c_str(), 0757), 0);
  EXPECT_FALSE(directory_writable_by(d, other, info.st_gid)) << "the group class matches first and says no";
  EXPECT_TRUE(directory_writable_by(d, other, 4242));
  ASSERT_EQ(chmod(d.c_str(), 0776), 0);
  EXPECT_FALSE(directory_writable_by(d, other, 4242)) << "write without search permission";
  EXPECT_FALSE(directory_writable_by(d / "missing", other, 4242));
}

TEST(VerifyDropped, RefusesAProcessThatStillHasCapabilities) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  EXPECT_THROW(verify_dropped(getuid(), getgid()), PrivilegeError);
  EXPECT_TRUE(holds_any_capability());
}

TEST(ApplyPrivileges, NothingToDoChangesNothing) {
  const int status = in_child([] {
    apply_privileges(PrivilegeOptions{});
    return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0 ? 0 : 1;
  });
  EXPECT_EQ(status, 0);
}

TEST(ApplyPrivileges, DropsToNobodyForGood) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const uid_t uid = nobody_uid();
  const gid_t gid = nobody_gid();
  const int status = in_child([uid, gid] {
    apply_privileges(PrivilegeOptions{.uid = uid, .gid = gid, .chroot_dir = std::nullopt, .user_text = "nobody"});
    uid_t r = 0, e = 0, s = 0;
    getresuid(&r, &e, &s);
    if (r != uid || e != uid || s != uid) return 1;
    gid_t rg = 0, eg = 0, sg = 0;
    getresgid(&rg, &eg, &sg);
    if (rg != gid || eg != gid || sg != gid) return 2;
    gid_t groups[4] = {};
    if (getgroups(4, groups) != 1 || groups[0] != gid) return 3;
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) return 4;
    if (holds_any_capability()) return 5;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 6;
    if (prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) != 0) return 7;  // bounding set emptied
    return 0;
  });
  EXPECT_EQ(status, 0);
}

TEST(ApplyPrivileges, ChrootsIntoAPrivateMountNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  TempDir dir;
  std::ofstream(dir.path() / "inside-the-jail") << "x";
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);  // nobody must be able to look inside its root
  const std::filesystem::path jail = dir.path();
  const uid_t uid = nobody_uid();
  const int status = in_child([&jail, uid] {
    struct stat before {};
    if (stat("/proc/self/ns/mnt", &before) != 0) return 1;
    apply_privileges(PrivilegeOptions{.uid = uid, .gid = nobody_gid(), .chroot_dir = jail, .user_text = "nobody"});
    if (access("/inside-the-jail", F_OK) != 0) return 2;
    if (access(jail.c_str(), F_OK) == 0) return 3;  // the host's path is gone from view
    if (std::filesystem::current_path() != "/") return 4;
    if (getuid() != uid) return 5;
    if (chroot("/") == 0) return 6;  // CAP_SYS_CHROOT is gone too
    return 0;
  });
  EXPECT_EQ(status, 0);
}

TEST(ApplyPrivileges, ADropWithAThreadRunningIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  TempDir dir;
  const std::filesystem::path jail = dir.path();
  const PrivilegeOptions jail_only{.uid = std::nullopt, .gid = std::nullopt, .chroot_dir = jail, .user_text = {}};
  const PrivilegeOptions user_only{
      .uid = nobody_uid(), .gid = nobody_gid(), .chroot_dir = std::nullopt, .user_text = "nobody"};
  for (const PrivilegeOptions& options : {jail_only, user_only}) {
    const int status = in_child([&options] {
      std::jthread other([](std::stop_token stop) {
        while (!stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      });
      try {
        apply_privileges(options);
      } catch (const PrivilegeError& e) {
        if (std::string(e.what()).find("runs 2") == std::string::npos) return 2;
        return getuid() == 0 ? 0 : 3;  // refused before anything changed
      }
      return 1;
    });
    EXPECT_EQ(status, 0) << (options.uid ? "--user" : "--chroot");
  }
}

}  // namespace
}  // namespace keel::sandbox
