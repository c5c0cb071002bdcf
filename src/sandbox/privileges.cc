#include "src/sandbox/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::sandbox {
namespace {

std::string errno_text(int error) { return std::generic_category().message(error); }

// A whole decimal number that fits an id; (uid_t)-1 is excluded because
// setresuid/setresgid read it as "leave unchanged".
std::optional<uint32_t> parse_id(std::string_view text) {
  uint32_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  if (value == std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return value;
}

bool looks_numeric(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// getpwnam_r / getpwuid_r / getgrnam_r share this shape: retry with a
// larger buffer on ERANGE. Returns the lookup's error (0 with *result null:
// no such entry).
template <class Entry, class Lookup>
int lookup_entry(Lookup lookup, Entry& entry, Entry*& result) {
  std::vector<char> buffer(4096);
  for (;;) {
    const int error = lookup(&entry, buffer.data(), buffer.size(), &result);
    if (error != ERANGE || buffer.size() >= (1u << 24)) return error;
    buffer.resize(buffer.size() * 4);
  }
}

// Version 3 of the capability ABI: two 32-bit words per set.
bool capget_sets(__user_cap_data_struct (&data)[_LINUX_CAPABILITY_U32S_3]) noexcept {
  __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  std::memset(data, 0, sizeof(data));
  return syscall(SYS_capget, &header, data) == 0;
}

bool has_effective(const __user_cap_data_struct (&data)[_LINUX_CAPABILITY_U32S_3], int cap) noexcept {
  return (data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap)) != 0;
}

// Every entry of /proc/self/task is one thread; -1 when /proc is missing.
int thread_count() noexcept {
  std::error_code error;
  int count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/task", error), end; !error && it != end;
       it.increment(error)) {
    ++count;
  }
  return error ? -1 : count;
}

// A mount namespace and a root directory stop being shared with other
// threads once unshared, and PR_SET_NO_NEW_PRIVS, the bounding set and a
// seccomp filter are per thread: a thread that existed before the drop
// would keep the host's view, or die in its own filter when glibc makes it
// run setresuid too. So the drop needs keel single-threaded.
void require_one_thread() {
  if (const int threads = thread_count(); threads != 1) {
    throw PrivilegeError(fmt::format("--user/--chroot: keel must give up its privileges while it runs one thread, it "
                                     "runs {}",
                                     threads < 0 ? std::string("an unknown number (no /proc)")
                                                 : std::to_string(threads)));
  }
}

void enter_jail(const std::filesystem::path& dir) {
  if (unshare(CLONE_NEWNS) != 0) {
    throw PrivilegeError(fmt::format("--chroot: cannot create a mount namespace: {}", errno_text(errno)));
  }
  // Nothing keel does inside may propagate back to the host's mounts.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    throw PrivilegeError(fmt::format("--chroot: cannot make / private in keel's mount namespace: {}",
                                     errno_text(errno)));
  }
  if (chroot(dir.c_str()) != 0) {
    throw PrivilegeError(fmt::format("--chroot '{}': chroot failed: {}", dir.string(), errno_text(errno)));
  }
  if (chdir("/") != 0) {
    throw PrivilegeError(fmt::format("--chroot '{}': chdir(\"/\") failed: {}", dir.string(), errno_text(errno)));
  }
}

// Best effort: with PR_SET_NO_NEW_PRIVS and no permitted capability an
// execve gains nothing anyway; an empty bounding set says so twice.
void empty_bounding_set() noexcept {
  for (int cap = 0; cap < 64; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;  // past the last capability
  }
}

void change_identity(uid_t uid, gid_t gid) {
  // Groups first: once the uid is gone, so is the right to change them.
  if (setgroups(1, &gid) != 0) {
    throw PrivilegeError(fmt::format("--group: setgroups({}) failed: {}", gid, errno_text(errno)));
  }
  if (setresgid(gid, gid, gid) != 0) {
    throw PrivilegeError(fmt::format("--group: setresgid({}) failed: {}", gid, errno_text(errno)));
  }
  if (setresuid(uid, uid, uid) != 0) {
    throw PrivilegeError(fmt::format("--user: setresuid({}) failed: {}", uid, errno_text(errno)));
  }
}

}  // namespace

ResolvedUser resolve_user(std::string_view text) {
  const std::string name(text);
  passwd entry{};
  passwd* found = nullptr;
  ResolvedUser user;
  if (looks_numeric(text)) {
    const std::optional<uint32_t> id = parse_id(text);
    if (!id) throw ConfigError(fmt::format("--user '{}': not a valid user id", text));
    user.uid = *id;
    user.primary_gid = *id;  // an id without a passwd entry: its own number as group
    const int error = lookup_entry(
        [&](passwd* e, char* b, size_t n, passwd** r) { return getpwuid_r(user.uid, e, b, n, r); }, entry, found);
    if (error == 0 && found != nullptr) user.primary_gid = found->pw_gid;
  } else {
    const int error = lookup_entry(
        [&](passwd* e, char* b, size_t n, passwd** r) { return getpwnam_r(name.c_str(), e, b, n, r); }, entry, found);
    if (error != 0) throw ConfigError(fmt::format("--user '{}': cannot look it up: {}", text, errno_text(error)));
    if (found == nullptr) throw ConfigError(fmt::format("--user '{}': no such user (give a name or a number)", text));
    user.uid = found->pw_uid;
    user.primary_gid = found->pw_gid;
  }
  if (user.uid == 0) {
    throw ConfigError(fmt::format("--user '{}': is root (uid 0), keel would keep every privilege; name an "
                                  "unprivileged user such as nobody",
                                  text));
  }
  return user;
}

gid_t resolve_group(std::string_view text) {
  if (looks_numeric(text)) {
    const std::optional<uint32_t> id = parse_id(text);
    if (!id) throw ConfigError(fmt::format("--group '{}': not a valid group id", text));
    return *id;
  }
  const std::string name(text);
  group entry{};
  group* found = nullptr;
  const int error = lookup_entry(
      [&](group* e, char* b, size_t n, group** r) { return getgrnam_r(name.c_str(), e, b, n, r); }, entry, found);
  if (error != 0) throw ConfigError(fmt::format("--group '{}': cannot look it up: {}", text, errno_text(error)));
  if (found == nullptr) throw ConfigError(fmt::format("--group '{}': no such group (give a name or a number)", text));
  return found->gr_gid;
}

std::filesystem::path check_chroot_dir(const std::filesystem::path& dir) {
  if (dir.empty()) throw ConfigError("--chroot: empty directory name");
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0) {
    throw ConfigError(fmt::format("--chroot '{}': {}", dir.string(), errno_text(errno)));
  }
  if (!S_ISDIR(info.st_mode)) throw ConfigError(fmt::format("--chroot '{}': not a directory", dir.string()));
  return std::filesystem::absolute(dir).lexically_normal();
}

HeldCapabilities held_capabilities() noexcept {
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  if (!capget_sets(data)) return {};
  return HeldCapabilities{.setuid = has_effective(data, CAP_SETUID),
                          .setgid = has_effective(data, CAP_SETGID),
                          .sys_admin = has_effective(data, CAP_SYS_ADMIN),
                          .sys_chroot = has_effective(data, CAP_SYS_CHROOT)};
}

bool holds_any_capability() noexcept {
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  if (!capget_sets(data)) return true;  // cannot tell: assume the worst
  for (const auto& word : data) {
    if (word.effective != 0 || word.permitted != 0 || word.inheritable != 0) return true;
  }
  return false;
}

PrivilegeOptions parse_privilege_options(const std::optional<std::string>& user,
                                         const std::optional<std::string>& group,
                                         const std::optional<std::string>& chroot_dir,
                                         const HeldCapabilities& held) {
  PrivilegeOptions options;
  if (group && !user) {
    throw ConfigError(fmt::format("--group '{}' needs --user (without it keel would keep running as root)", *group));
  }
  if (user) {
    const ResolvedUser resolved = resolve_user(*user);
    options.uid = resolved.uid;
    options.gid = group ? resolve_group(*group) : resolved.primary_gid;
    options.user_text = *user;
    if (!held.setuid || !held.setgid) {
      throw ConfigError(fmt::format("--user '{}': keel must start as root to change its user (it runs as uid {} "
                                    "without CAP_SETUID and CAP_SETGID)",
                                    *user, geteuid()));
    }
  }
  if (chroot_dir) {
    options.chroot_dir = check_chroot_dir(*chroot_dir);
    if (!held.sys_admin || !held.sys_chroot) {
      throw ConfigError(fmt::format("--chroot '{}': keel must start as root to enter a jail (it runs as uid {} "
                                    "without CAP_SYS_ADMIN and CAP_SYS_CHROOT)",
                                    *chroot_dir, geteuid()));
    }
  }
  return options;
}

bool directory_writable_by(const std::filesystem::path& dir, uid_t uid, gid_t gid) {
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return false;
  if (uid == 0) return true;
  // Creating a file needs write and search permission on the directory;
  // only the first class that matches counts, as in the kernel.
  if (info.st_uid == uid) return (info.st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
  if (info.st_gid == gid) return (info.st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP);
  return (info.st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

void apply_privileges(const PrivilegeOptions& options) {
  if (!options.any()) return;
  require_one_thread();
  // Before anything else: no later execve (there is none, but a compromised
  // keel might try) can gain privileges through setuid bits or file caps.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    throw PrivilegeError(fmt::format("cannot set PR_SET_NO_NEW_PRIVS: {}", errno_text(errno)));
  }
  if (options.chroot_dir) enter_jail(*options.chroot_dir);
  if (options.uid) {
    const gid_t gid = options.gid.value_or(*options.uid);
    empty_bounding_set();
    change_identity(*options.uid, gid);
    verify_dropped(*options.uid, gid);
  }
}

void verify_dropped(uid_t uid, gid_t gid) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (getresuid(&ruid, &euid, &suid) != 0 || ruid != uid || euid != uid || suid != uid) {
    throw PrivilegeError(fmt::format("--user: still running as uids {}/{}/{} after the change to {}", ruid, euid, suid,
                                     uid));
  }
  if (getresgid(&rgid, &egid, &sgid) != 0 || rgid != gid || egid != gid || sgid != gid) {
    throw PrivilegeError(fmt::format("--group: still running as gids {}/{}/{} after the change to {}", rgid, egid,
                                     sgid, gid));
  }
  gid_t groups[2] = {};
  const int count = getgroups(2, groups);
  if (count < 0 || count > 1 || (count == 1 && groups[0] != gid)) {
    throw PrivilegeError(fmt::format("--group: supplementary groups other than {} are still set", gid));
  }
  if (holds_any_capability()) {
    throw PrivilegeError(fmt::format("--user: uid {} still holds capabilities after the change", uid));
  }
  if (uid != 0 && setresuid(0, 0, 0) == 0) {
    throw PrivilegeError(fmt::format("--user: uid {} could become root again; refusing to start the VM", uid));
  }
}

}  // namespace keel::sandbox
