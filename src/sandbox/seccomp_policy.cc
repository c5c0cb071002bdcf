#include "src/sandbox/seccomp_policy.h"

#include <linux/if_tun.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <span>

#include "src/kvm/ioctl_numbers.h"

namespace keel::sandbox {
namespace {

// ioctl(2)'s request is an `unsigned int` in the kernel: compare the low 32
// bits only, so a request passed sign-extended still matches.
constexpr uint64_t kIoctlRequestMask = 0xffffffffu;

class RuleList {
 public:
  explicit RuleList(std::vector<SyscallRule>& rules) : rules_(rules) {}

  void allow(std::initializer_list<long> numbers) {
    for (long number : numbers) rules_.push_back(SyscallRule{.number = number, .match = std::nullopt});
  }
  void allow_if(long number, ArgMatch match, const char* what = nullptr) {
    rules_.push_back(SyscallRule{.number = number, .match = match, .error = 0, .what = what});
  }
  void ioctl(unsigned long request, const char* what) {
    allow_if(SYS_ioctl, ArgMatch{.index = 1, .mask = kIoctlRequestMask, .value = request & kIoctlRequestMask}, what);
  }
  void ioctls(std::span<const kvm::IoctlNumber> numbers) {
    for (const kvm::IoctlNumber& number : numbers) ioctl(number.request, number.name);
  }
  void fail(long number, int error) {
    rules_.push_back(SyscallRule{.number = number, .match = std::nullopt, .error = error});
  }

 private:
  std::vector<SyscallRule>& rules_;
};

// What every keel thread does once running: read and write the fds it was
// given, log (spdlog: write/writev, fstat of a FILE), lock and wait
// (futex, clocks), allocate (no executable mappings: keel never makes code
// at run time), kick a vCPU (tgkill), restore the terminal
// (tcsetattr = TCSETS*; also the SIGCONT handler and the SIGSYS handler run
// it on whatever thread they land), wait for room to write, and end the
// process.
void add_common(RuleList& list) {
  list.allow({SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_close, SYS_fstat, SYS_futex, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep, SYS_sched_yield, SYS_gettid,
              SYS_getpid, SYS_tgkill, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_restart_syscall, SYS_exit,
              SYS_exit_group, SYS_brk, SYS_munmap, SYS_madvise, SYS_mremap,
              // Output to a console or log that would block waits, bounded,
              // for room (src/console/fd_io: write_all).
              SYS_poll, SYS_ppoll});
  // glibc's fstat(): the fd's own status only, never a path.
  list.allow_if(SYS_newfstatat, ArgMatch{.index = 3, .mask = AT_EMPTY_PATH, .value = AT_EMPTY_PATH});
  list.allow_if(SYS_mmap, ArgMatch{.index = 2, .mask = PROT_EXEC, .value = 0});
  list.allow_if(SYS_mprotect, ArgMatch{.index = 2, .mask = PROT_EXEC, .value = 0});
  list.ioctl(TCGETS, "TCGETS");
  list.ioctl(TCSETS, "TCSETS");
  list.ioctl(TCSETSW, "TCSETSW");
  list.ioctl(TCSETSF, "TCSETSF");
}

// Device code that runs on any thread driving a device: interrupts and
// doorbells (KVM), the fds a device registers on the event loop, its timers.
void add_device_work(RuleList& list) {
  list.ioctls(kvm::device_ioctls());
  list.allow({SYS_epoll_ctl, SYS_timerfd_settime, SYS_timerfd_gettime, SYS_eventfd2});
  // A doorbell keeps its own duplicate of the eventfd (for the deassign).
  list.allow_if(SYS_fcntl, ArgMatch{.index = 1, .mask = 0xffffffffu, .value = F_DUPFD_CLOEXEC});
}

// A TAP's offloads follow the guest's feature negotiation (a vCPU's
// register write, or a reset); its MTU bounds each read (the io loop).
void add_tap_runtime(RuleList& list) {
  list.ioctl(TUNSETOFFLOAD, "TUNSETOFFLOAD");
  list.ioctl(SIOCGIFMTU, "SIOCGIFMTU");
}

void add_event_loop(RuleList& list) { list.allow({SYS_epoll_wait, SYS_epoll_pwait}); }

// libslirp on the io loop: the guest's TCP/UDP/ICMP flows become host
// sockets (IPv4 and IPv6 only), made and served there.
void add_user_networking(RuleList& list) {
  list.allow_if(SYS_socket, ArgMatch{.index = 0, .mask = 0xffffffffu, .value = AF_INET});
  list.allow_if(SYS_socket, ArgMatch{.index = 0, .mask = 0xffffffffu, .value = AF_INET6});
  list.allow({SYS_connect, SYS_bind, SYS_listen, SYS_accept, SYS_accept4, SYS_sendto, SYS_recvfrom, SYS_sendmsg,
              SYS_recvmsg, SYS_setsockopt, SYS_getsockopt, SYS_getsockname, SYS_getpeername, SYS_shutdown, SYS_fcntl});
  list.ioctl(FIONREAD, "FIONREAD");
}

// Thread creation (glibc's pthread_create): clone3 takes its flags in
// memory a filter cannot read, so it fails with ENOSYS and glibc falls back
// to clone, which is allowed only with CLONE_THREAD (no new processes). The
// new thread then registers itself (set_robust_list, rseq) and its stack
// guard.
void add_thread_creation(RuleList& list) {
  list.fail(SYS_clone3, ENOSYS);
  list.allow_if(SYS_clone, ArgMatch{.index = 0, .mask = CLONE_THREAD, .value = CLONE_THREAD});
  list.allow({SYS_set_robust_list, SYS_rseq, SYS_sched_getaffinity, SYS_getrandom});
}

#ifdef KEEL_SANITIZE
// The sanitizer runtimes (ASan/UBSan/TSan builds only): a report reads
// /proc/self/maps and the binary for symbols, LSan's leak check at exit
// stops the world with a tracer (a clone without CLONE_THREAD, ptrace,
// waits), and their allocators map and unmap shadow and quarantine memory.
void add_sanitizer_runtime(RuleList& list, ThreadKind kind) {
  list.allow({SYS_openat, SYS_readlink, SYS_getpid, SYS_getppid, SYS_prctl, SYS_sigaltstack, SYS_rt_sigaction,
              SYS_sched_getaffinity, SYS_getrlimit, SYS_prlimit64, SYS_pipe2, SYS_dup, SYS_dup2, SYS_getdents64,
              SYS_pread64, SYS_uname, SYS_sched_getparam, SYS_wait4, SYS_waitid, SYS_kill, SYS_ptrace,
              // LSan's thread lister uses the legacy calls directly.
              SYS_open, SYS_getdents, SYS_lseek});
  if (kind == ThreadKind::main) {
    list.allow_if(SYS_clone, ArgMatch{.index = 0, .mask = CLONE_THREAD, .value = 0});
  }
}
#endif

}  // namespace

SeccompPolicy seccomp_policy(ThreadKind kind, const PolicyFeatures& features) {
  SeccompPolicy policy{.kind = kind, .rules = {}};
  RuleList list(policy.rules);
  add_common(list);
  switch (kind) {
    case ThreadKind::vcpu:
      // KVM_RUN and the register dump of a fatal exit; the devices its
      // PIO/MMIO exits reach (interrupts, doorbells moving with a BAR,
      // activation registering queue fds, feature negotiation reaching a
      // TAP). Nothing that opens a file, a socket or a process.
      list.ioctls(kvm::vcpu_run_ioctls());
      add_device_work(list);
      add_tap_runtime(list);
      // A reset cancels in-flight disk I/O; console output to a unix-socket
      // client is a send() on the connected socket (no address).
      list.allow({SYS_io_uring_enter});
      list.allow_if(SYS_sendto, ArgMatch{.index = 4, .mask = ~uint64_t{0}, .value = 0});
      break;
    case ThreadKind::io_loop:
      add_event_loop(list);
      add_device_work(list);
      add_tap_runtime(list);
      list.allow({SYS_io_uring_enter, SYS_preadv, SYS_pwritev, SYS_fdatasync, SYS_fsync});
      if (features.user_networking) add_user_networking(list);
      break;
    case ThreadKind::console_loop:
      // Console input: reads, accepting a unix-socket client, the UART's
      // interrupt (KVM_IRQ_LINE through the device set), Ctrl-A x.
      add_event_loop(list);
      add_device_work(list);
      list.allow({SYS_accept4});
      list.allow_if(SYS_recvfrom, ArgMatch{.index = 4, .mask = ~uint64_t{0}, .value = 0});  // recv() from the client
      // The QMP server (src/qmp) runs here too: send() replies and events to
      // its client (no address), shutdown() one that does not read them.
      list.allow_if(SYS_sendto, ArgMatch{.index = 4, .mask = ~uint64_t{0}, .value = 0});
      list.allow({SYS_shutdown});
      // QMP system_reset runs here with every vCPU parked: the KVM power-on
      // state, a virtio-blk reset cancelling in-flight disk I/O, and the
      // initrd read again from its fd, opened at start-up.
      list.ioctls(kvm::machine_reset_ioctls());
      list.allow({SYS_io_uring_enter, SYS_pread64});
      break;
    case ThreadKind::helper:
      // Key injection: sleeps and raises the keyboard's interrupt.
      add_device_work(list);
      break;
    case ThreadKind::main:
      // Waits for the stop (poll on the stop eventfd and a signalfd), tears
      // the VM down (deassigning irqfds and ioeventfds, unmapping memory,
      // joining threads, removing a unix socket's path), starts the teardown
      // watchdog thread, and writes the --junit / --result-json reports.
      add_event_loop(list);
      add_device_work(list);
      add_tap_runtime(list);
      add_thread_creation(list);
      list.allow({SYS_io_uring_enter, SYS_openat, SYS_unlink, SYS_unlinkat, SYS_rename,
                  SYS_renameat, SYS_fsync, SYS_fdatasync, SYS_rt_sigaction});
      // QMP's SHUTDOWN event once the VM stops: send() to the client (no
      // address), shutdown() of one that does not read (src/qmp/server.cc).
      list.allow_if(SYS_sendto, ArgMatch{.index = 4, .mask = ~uint64_t{0}, .value = 0});
      list.allow({SYS_shutdown});
      break;
  }
#ifdef KEEL_SANITIZE
  add_sanitizer_runtime(list, kind);
#endif
  // A rule repeated by two groups (the sanitizer list and the base list)
  // is loaded once.
  auto same = [](const SyscallRule& a, const SyscallRule& b) {
    const bool same_match = a.match.has_value() == b.match.has_value() &&
                            (!a.match || (a.match->index == b.match->index && a.match->mask == b.match->mask &&
                                          a.match->value == b.match->value));
    return a.number == b.number && a.error == b.error && same_match;
  };
  std::vector<SyscallRule> unique;
  for (const SyscallRule& rule : policy.rules) {
    if (std::none_of(unique.begin(), unique.end(), [&](const SyscallRule& kept) { return same(kept, rule); })) {
      unique.push_back(rule);
    }
  }
  policy.rules = std::move(unique);
  return policy;
}

SeccompPolicy::Verdict SeccompPolicy::check(long number, const std::array<uint64_t, 6>& args) const noexcept {
  for (const SyscallRule& rule : rules) {
    if (rule.number != number) continue;
    if (rule.match && rule.match->index < args.size() &&
        (args[rule.match->index] & rule.match->mask) != rule.match->value) {
      continue;
    }
    return rule.error == 0 ? Verdict::allow : Verdict::error;
  }
  return Verdict::forbidden;
}

size_t SeccompPolicy::syscall_count() const {
  std::set<long> numbers;
  for (const SyscallRule& rule : rules) {
    if (rule.error == 0) numbers.insert(rule.number);
  }
  return numbers.size();
}

}  // namespace keel::sandbox
