#include "src/sandbox/seccomp_filter.h"

#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace keel::sandbox {
namespace {

// Syscall names for the SIGSYS handler, resolved once before the first
// filter is loaded: libseccomp's resolver allocates, which a signal handler
// must not do.
constexpr int kNamedSyscalls = 512;
constexpr size_t kNameLength = 32;
char g_syscall_names[kNamedSyscalls][kNameLength];
std::once_flag g_names_once;
uint32_t g_native_arch = 0;  // AUDIT_ARCH_* of this process, as si_arch reports it

std::atomic<void (*)() noexcept> g_cleanup{nullptr};
std::atomic<bool> g_violation_reported{false};
static_assert(std::atomic<void (*)() noexcept>::is_always_lock_free);
static_assert(std::atomic<bool>::is_always_lock_free);

// Read by the SIGSYS handler on the thread that made the call: initial-exec
// TLS of the executable, safe in a handler.
thread_local ThreadKind t_kind = ThreadKind::main;

void resolve_syscall_names() {
  g_native_arch = seccomp_arch_native();
  for (int number = 0; number < kNamedSyscalls; ++number) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
    if (name == nullptr) continue;
    std::strncpy(g_syscall_names[number], name, kNameLength - 1);
    std::free(name);
  }
}

// A fixed buffer filled with async-signal-safe code only.
class LineBuffer {
 public:
  void add(const char* text) noexcept {
    while (*text != '\0' && used_ < sizeof text_) text_[used_++] = *text++;
  }
  void add(std::string_view text) noexcept {
    for (char c : text) {
      if (used_ < sizeof text_) text_[used_++] = c;
    }
  }
  void add_number(long value) noexcept {
    char digits[24];
    size_t count = 0;
    unsigned long magnitude = value < 0 ? 0ul - static_cast<unsigned long>(value) : static_cast<unsigned long>(value);
    do {
      digits[count++] = static_cast<char>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0 && count < sizeof digits);
    if (value < 0) add("-");
    while (count > 0 && used_ < sizeof text_) text_[used_++] = digits[--count];
  }
  void write_to(int fd) const noexcept {
    size_t done = 0;
    while (done < used_) {
      const ssize_t wrote = ::write(fd, text_ + done, used_ - done);
      if (wrote <= 0) return;
      done += static_cast<size_t>(wrote);
    }
  }

 private:
  char text_[256];
  size_t used_ = 0;
};

void on_sigsys(int, siginfo_t* info, void*) {
  // Two threads may trip at once: one line, one exit.
  if (!g_violation_reported.exchange(true)) {
    const long number = info != nullptr ? info->si_syscall : -1;
    const bool native = info != nullptr && info->si_arch == g_native_arch;
    LineBuffer line;
    line.add("keel: seccomp: the ");
    line.add(thread_kind_name(t_kind));
    line.add(" thread made a forbidden system call ");
    if (native && number >= 0 && number < kNamedSyscalls && g_syscall_names[number][0] != '\0') {
      line.add(g_syscall_names[number]);
      line.add(" ");
    } else if (!native) {
      line.add("of another ABI ");
    }
    line.add("(");
    line.add_number(number);
    line.add("); stopping\n");
    line.write_to(STDERR_FILENO);
    if (auto cleanup = g_cleanup.load()) cleanup();
  }
  _exit(kExitSeccompViolation);
}

void install_sigsys_handler() {
  struct sigaction action {};
  action.sa_sigaction = on_sigsys;
  action.sa_flags = SA_SIGINFO;
  sigfillset(&action.sa_mask);  // nothing else runs on this thread meanwhile
  if (sigaction(SIGSYS, &action, nullptr) != 0) {
    throw SandboxError(fmt::format("seccomp: cannot install the SIGSYS handler: {}", std::strerror(errno)));
  }
}

const char* thread_name(ThreadKind kind) noexcept {
  switch (kind) {
    case ThreadKind::main: return nullptr;  // keeps the process's name
    case ThreadKind::vcpu: return "keel-vcpu";
    case ThreadKind::io_loop: return "keel-io";
    case ThreadKind::console_loop: return "keel-console";
    case ThreadKind::helper: return "keel-helper";
  }
  return nullptr;
}

// Frees the libseccomp context on every path.
struct FilterContext {
  scmp_filter_ctx ctx;
  ~FilterContext() { seccomp_release(ctx); }
};

[[noreturn]] void fail(ThreadKind kind, const char* step, int error) {
  throw SandboxError(fmt::format("seccomp: cannot install the {} thread's filter: {} failed: {}",
                                 thread_kind_name(kind), step, std::strerror(error)));
}

}  // namespace

void set_violation_cleanup(void (*cleanup)() noexcept) noexcept { g_cleanup.store(cleanup); }

void install_seccomp_filter(ThreadKind kind, SeccompMode mode, const PolicyFeatures& features) {
  if (mode == SeccompMode::off) return;
  std::call_once(g_names_once, resolve_syscall_names);
  if (mode == SeccompMode::on) install_sigsys_handler();  // idempotent
  const SeccompPolicy policy = seccomp_policy(kind, features);

  if (const char* name = thread_name(kind)) prctl(PR_SET_NAME, name, 0, 0, 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(kind, "PR_SET_NO_NEW_PRIVS", errno);

  const uint32_t forbidden = mode == SeccompMode::on ? SCMP_ACT_TRAP : SCMP_ACT_LOG;
  FilterContext filter{seccomp_init(forbidden)};
  if (filter.ctx == nullptr) fail(kind, "seccomp_init", ENOMEM);
  // Calls of another ABI (int 0x80, x32) are forbidden like any other
  // (libseccomp's default would kill only the thread, silently).
  if (const int rc = seccomp_attr_set(filter.ctx, SCMP_FLTATR_ACT_BADARCH, forbidden); rc < 0) {
    fail(kind, "seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH)", -rc);
  }
  for (const SyscallRule& rule : policy.rules) {
    const uint32_t action = rule.error == 0 ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(static_cast<uint32_t>(rule.error));
    const int number = static_cast<int>(rule.number);
    int rc = 0;
    if (rule.match) {
      const scmp_arg_cmp compare{.arg = rule.match->index, .op = SCMP_CMP_MASKED_EQ, .datum_a = rule.match->mask,
                                 .datum_b = rule.match->value};
      rc = seccomp_rule_add_array(filter.ctx, action, number, 1, &compare);
    } else {
      rc = seccomp_rule_add_array(filter.ctx, action, number, 0, nullptr);
    }
    if (rc < 0) {
      throw SandboxError(fmt::format("seccomp: cannot install the {} thread's filter: rule for system call {}: {}",
                                     thread_kind_name(kind), rule.number, std::strerror(-rc)));
    }
  }
  t_kind = kind;
  if (const int rc = seccomp_load(filter.ctx); rc < 0) fail(kind, "seccomp_load", -rc);
}

}  // namespace keel::sandbox
