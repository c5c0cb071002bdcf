// `keel run --user/--group/--chroot`: giving up root once the machine is
// built. The names are resolved and the jail directory checked when the
// command line is parsed (one-line keel::ConfigError each); the drop itself
// (apply_privileges) runs on the main thread after everything privileged is
// open (/dev/kvm, the VM and vCPU fds, guest RAM, images, taps, sockets,
// console and log files, the report directories) and before keel's event
// loops and vCPU threads start.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keel::sandbox {

// What to become. Empty (any() false): keel keeps the identity it started
// with and none of this runs.
struct PrivilegeOptions {
  std::optional<uid_t> uid;  // --user; never 0
  std::optional<gid_t> gid;  // --group, or --user's primary group
  std::optional<std::filesystem::path> chroot_dir;  // --chroot, an existing directory
  std::string user_text;                            // as given, for messages

  bool any() const noexcept { return uid.has_value() || chroot_dir.has_value(); }
};

// A failure of the drop itself (the VM is not started); one line.
class PrivilegeError : public std::runtime_error {
 public:
  explicit PrivilegeError(const std::string& message) : std::runtime_error(message) {}
};

struct ResolvedUser {
  uid_t uid = 0;
  gid_t primary_gid = 0;
};

// "nobody" (getpwnam_r) or a number ("65534": need not have a passwd entry;
// its primary group is then the same number). Unknown names, malformed
// numbers and uid 0 ("keel would stay root") are ConfigErrors naming `text`.
ResolvedUser resolve_user(std::string_view text);

// "nogroup" (getgrnam_r) or a number; unknown names are ConfigErrors.
gid_t resolve_group(std::string_view text);

// --chroot DIR: must exist and be a directory (ConfigError otherwise).
// Relative paths are made absolute, so the jail does not depend on a later
// chdir.
std::filesystem::path check_chroot_dir(const std::filesystem::path& dir);

// The effective capabilities that matter here, as capget reports them.
struct HeldCapabilities {
  bool setuid = false;      // CAP_SETUID
  bool setgid = false;      // CAP_SETGID
  bool sys_admin = false;   // CAP_SYS_ADMIN (the mount namespace)
  bool sys_chroot = false;  // CAP_SYS_CHROOT
};
HeldCapabilities held_capabilities() noexcept;

// Everything from the command line at once. `user` / `group` / `chroot_dir`
// as given (nullopt: not given). Refuses --group without --user (keel would
// still be root) and, like QEMU's -run-with user=, a drop keel has no
// capabilities for: "--user needs keel to start as root". `held` is
// normally held_capabilities().
PrivilegeOptions parse_privilege_options(const std::optional<std::string>& user,
                                         const std::optional<std::string>& group,
                                         const std::optional<std::string>& chroot_dir,
                                         const HeldCapabilities& held);

// Whether uid/gid may create files in `dir`, from its owner and mode bits
// (keel itself may still be root when this is asked; ACLs are not read, so
// a false "no" is possible only with ACLs). Used to check --junit and
// --result-json directories against --user at parse time.
bool directory_writable_by(const std::filesystem::path& dir, uid_t uid, gid_t gid);

// The drop, in this order: PR_SET_NO_NEW_PRIVS; with --chroot, a private
// mount namespace (/ made private recursively), chroot(DIR), chdir("/");
// with --user, every capability dropped from the bounding set,
// setgroups({gid}), setresgid, setresuid; then verify_dropped(). Refuses
// unless keel runs one thread (a mount namespace, a root directory, no-new-
// privs, the bounding set and seccomp filters are per thread). Throws
// PrivilegeError.
void apply_privileges(const PrivilegeOptions& options);

// Checks that the process is uid/gid in all three slots, has only `gid` as
// a supplementary group, holds no capability (effective, permitted or
// inheritable) and cannot setresuid(0) back. Throws PrivilegeError.
void verify_dropped(uid_t uid, gid_t gid);

// Whether any capability is in the calling thread's effective, permitted
// or inheritable set (capget).
bool holds_any_capability() noexcept;

}  // namespace keel::sandbox
