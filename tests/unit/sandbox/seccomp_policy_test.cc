#include "src/sandbox/seccomp_policy.h"

#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <fcntl.h>

#include "src/kvm/ioctl_numbers.h"

namespace keel::sandbox {
namespace {

using Verdict = SeccompPolicy::Verdict;

std::array<uint64_t, 6> args(uint64_t a0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0) {
  return {a0, a1, a2, a3, a4, 0};
}

uint64_t kvm_request(std::span<const kvm::IoctlNumber> list, std::string_view name) {
  for (const kvm::IoctlNumber& number : list) {
    if (name == number.name) return number.request;
  }
  ADD_FAILURE() << name << " not in the list";
  return 0;
}

TEST(SeccompPolicy, EveryKindCanDoTheBasics) {
  for (ThreadKind kind : kAllThreadKinds) {
    const SeccompPolicy policy = seccomp_policy(kind);
    SCOPED_TRACE(std::string(thread_kind_name(kind)));
    for (long number : {SYS_read, SYS_write, SYS_futex, SYS_exit, SYS_exit_group, SYS_close, SYS_rt_sigreturn,
                        SYS_tgkill, SYS_madvise, SYS_munmap}) {
      EXPECT_EQ(policy.check(number), Verdict::allow) << number;
    }
    EXPECT_EQ(policy.check(SYS_mmap, args(0, 4096, PROT_READ | PROT_WRITE)), Verdict::allow);
    // Restoring the terminal (the SIGSYS and SIGCONT handlers run anywhere).
    EXPECT_EQ(policy.check(SYS_ioctl, args(0, TCSETS)), Verdict::allow);
    // fstat() of an fd, not a path.
    EXPECT_EQ(policy.check(SYS_newfstatat, args(1, 0, 0, AT_EMPTY_PATH)), Verdict::allow);
    EXPECT_EQ(policy.check(SYS_newfstatat, args(AT_FDCWD, 0, 0, 0)), Verdict::forbidden);
  }
}

TEST(SeccompPolicy, NoKindMayExecForkTraceMountOrMapCode) {
  for (ThreadKind kind : kAllThreadKinds) {
    const SeccompPolicy policy = seccomp_policy(kind, PolicyFeatures{.user_networking = true});
    SCOPED_TRACE(std::string(thread_kind_name(kind)));
    for (long number : {SYS_execve, SYS_execveat, SYS_fork, SYS_vfork, SYS_mount, SYS_umount2, SYS_chroot,
                        SYS_setuid, SYS_init_module, SYS_bpf, SYS_process_vm_writev, SYS_kexec_load,
                        SYS_memfd_create, SYS_unshare, SYS_setns, SYS_pivot_root}) {
      EXPECT_EQ(policy.check(number), Verdict::forbidden) << number;
    }
#ifndef KEEL_SANITIZE  // the sanitizer runtimes' additions (src/sandbox/seccomp_policy.cc)
    EXPECT_EQ(policy.check(SYS_ptrace), Verdict::forbidden);
    EXPECT_EQ(policy.check(SYS_open), Verdict::forbidden);
#endif
    // A new process: clone without CLONE_THREAD.
    // (LSan's tracer needs one on main in sanitizer builds.)
#ifdef KEEL_SANITIZE
    const bool may_fork = kind == ThreadKind::main;
#else
    const bool may_fork = false;
#endif
    if (!may_fork) {
      EXPECT_EQ(policy.check(SYS_clone, args(SIGCHLD)), Verdict::forbidden);
    }
    EXPECT_EQ(policy.check(SYS_mmap, args(0, 4096, PROT_READ | PROT_EXEC)), Verdict::forbidden);
    EXPECT_EQ(policy.check(SYS_mprotect, args(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC)), Verdict::forbidden);
    // Making a new TAP or attaching another interface.
    EXPECT_EQ(policy.check(SYS_ioctl, args(0, TUNSETIFF)), Verdict::forbidden);
    EXPECT_EQ(policy.check(SYS_ioctl, args(0, SIOCSIFFLAGS)), Verdict::forbidden);
    // VM set-up ioctls are over once threads run.
    EXPECT_EQ(policy.check(SYS_ioctl, args(0, 0xae41 /* KVM_CREATE_VCPU */)), Verdict::forbidden);
  }
}

TEST(SeccompPolicy, VcpuRunsKvmAndReachesDevicesButOpensNothing) {
  const SeccompPolicy policy = seccomp_policy(ThreadKind::vcpu);
  for (const kvm::IoctlNumber& number : kvm::vcpu_run_ioctls()) {
    EXPECT_EQ(policy.check(SYS_ioctl, args(3, number.request)), Verdict::allow) << number.name;
  }
  for (const kvm::IoctlNumber& number : kvm::device_ioctls()) {
    EXPECT_EQ(policy.check(SYS_ioctl, args(3, number.request)), Verdict::allow) << number.name;
  }
  // A request passed sign-extended is still the same 32-bit request.
  const uint64_t run = kvm_request(kvm::vcpu_run_ioctls(), "KVM_RUN");
  EXPECT_EQ(policy.check(SYS_ioctl, args(3, run | 0xffffffff00000000ull)), Verdict::allow);
  EXPECT_EQ(policy.check(SYS_ioctl, args(3, TUNSETOFFLOAD)), Verdict::allow);
  EXPECT_EQ(policy.check(SYS_fcntl, args(3, F_DUPFD_CLOEXEC)), Verdict::allow);
  EXPECT_EQ(policy.check(SYS_fcntl, args(3, F_SETFL)), Verdict::forbidden);
  EXPECT_EQ(policy.check(SYS_sendto, args(3, 0, 10, 0, 0)), Verdict::allow);
  EXPECT_EQ(policy.check(SYS_sendto, args(3, 0, 10, 0, 0x1000)), Verdict::forbidden);
  for (long number : {SYS_socket, SYS_connect, SYS_clone, SYS_clone3, SYS_epoll_wait, SYS_unlink}) {
    EXPECT_EQ(policy.check(number, args(0)), Verdict::forbidden) << number;
  }
#ifndef KEEL_SANITIZE  // the sanitizer runtimes read /proc on any thread
  EXPECT_EQ(policy.check(SYS_openat, args(0)), Verdict::forbidden);
#endif
}

TEST(SeccompPolicy, IoLoopMakesSocketsOnlyForUserNetworking) {
  const SeccompPolicy plain = seccomp_policy(ThreadKind::io_loop);
  EXPECT_EQ(plain.check(SYS_epoll_wait), Verdict::allow);
  EXPECT_EQ(plain.check(SYS_io_uring_enter), Verdict::allow);
  EXPECT_EQ(plain.check(SYS_ioctl, args(3, kvm_request(kvm::device_ioctls(), "KVM_SET_GSI_ROUTING"))),
            Verdict::allow);
  EXPECT_EQ(plain.check(SYS_ioctl, args(3, kvm_request(kvm::vcpu_run_ioctls(), "KVM_RUN"))), Verdict::forbidden);
  EXPECT_EQ(plain.check(SYS_socket, args(AF_INET, SOCK_DGRAM)), Verdict::forbidden);
#ifndef KEEL_SANITIZE  // the sanitizer runtimes read /proc on any thread
  EXPECT_EQ(plain.check(SYS_openat), Verdict::forbidden);
#endif

  const SeccompPolicy user = seccomp_policy(ThreadKind::io_loop, PolicyFeatures{.user_networking = true});
  EXPECT_EQ(user.check(SYS_socket, args(AF_INET, SOCK_DGRAM)), Verdict::allow);
  EXPECT_EQ(user.check(SYS_socket, args(AF_INET6, SOCK_STREAM)), Verdict::allow);
  EXPECT_EQ(user.check(SYS_socket, args(AF_UNIX, SOCK_STREAM)), Verdict::forbidden);
  EXPECT_EQ(user.check(SYS_socket, args(AF_PACKET, SOCK_RAW)), Verdict::forbidden);
  EXPECT_EQ(user.check(SYS_ioctl, args(3, FIONREAD)), Verdict::allow);
  EXPECT_GT(user.syscall_count(), plain.syscall_count());
}

TEST(SeccompPolicy, OnlyMainCreatesThreadsAndFiles) {
  const SeccompPolicy main = seccomp_policy(ThreadKind::main);
  EXPECT_EQ(main.check(SYS_clone, args(CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)), Verdict::allow);
  // clone3 hides its flags in memory: refused with an error, glibc then uses clone.
  EXPECT_EQ(main.check(SYS_clone3), Verdict::error);
  EXPECT_EQ(main.check(SYS_openat), Verdict::allow);  // --junit, --result-json
  EXPECT_EQ(main.check(SYS_ppoll), Verdict::allow);
  // QMP's SHUTDOWN event once the VM stops.
  EXPECT_EQ(main.check(SYS_sendto, args(3, 0, 0, 0, 0)), Verdict::allow);
  EXPECT_EQ(main.check(SYS_sendto, args(3, 0, 0, 0, 0x1000)), Verdict::forbidden);
  EXPECT_EQ(main.check(SYS_shutdown), Verdict::allow);
  for (ThreadKind kind : {ThreadKind::vcpu, ThreadKind::io_loop, ThreadKind::console_loop, ThreadKind::helper}) {
    const SeccompPolicy policy = seccomp_policy(kind);
    SCOPED_TRACE(std::string(thread_kind_name(kind)));
    EXPECT_EQ(policy.check(SYS_clone, args(CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)), Verdict::forbidden);
#ifndef KEEL_SANITIZE
    EXPECT_EQ(policy.check(SYS_openat), Verdict::forbidden);
#endif
  }
}

TEST(SeccompPolicy, ConsoleAndHelperListsAreSmall) {
  const SeccompPolicy console = seccomp_policy(ThreadKind::console_loop);
  EXPECT_EQ(console.check(SYS_accept4), Verdict::allow);  // a unix-socket console's client
  EXPECT_EQ(console.check(SYS_ioctl, args(3, kvm_request(kvm::device_ioctls(), "KVM_IRQ_LINE"))), Verdict::allow);
  EXPECT_EQ(console.check(SYS_socket, args(AF_UNIX)), Verdict::forbidden);
  // The QMP server: send() to its connected client, shutdown() of one that
  // does not read; never a send to an address.
  EXPECT_EQ(console.check(SYS_sendto, args(3, 0, 0, 0, 0)), Verdict::allow);
  EXPECT_EQ(console.check(SYS_sendto, args(3, 0, 0, 0, 0x1000)), Verdict::forbidden);
  EXPECT_EQ(console.check(SYS_shutdown), Verdict::allow);
  // QMP system_reset runs here: the KVM power-on state, but never KVM_RUN.
  const uint64_t set_sregs = kvm_request(kvm::machine_reset_ioctls(), "KVM_SET_SREGS");
  EXPECT_EQ(console.check(SYS_ioctl, args(3, set_sregs)), Verdict::allow);
  EXPECT_EQ(console.check(SYS_ioctl, args(3, kvm_request(kvm::vcpu_run_ioctls(), "KVM_RUN"))), Verdict::forbidden);
  EXPECT_EQ(seccomp_policy(ThreadKind::io_loop).check(SYS_ioctl, args(3, set_sregs)), Verdict::forbidden);
  const SeccompPolicy helper = seccomp_policy(ThreadKind::helper);
  EXPECT_EQ(helper.check(SYS_epoll_wait), Verdict::forbidden);
  EXPECT_LT(helper.syscall_count(), seccomp_policy(ThreadKind::main).syscall_count());
}

}  // namespace
}  // namespace keel::sandbox
