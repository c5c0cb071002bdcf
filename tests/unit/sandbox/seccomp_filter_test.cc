#include "src/sandbox/seccomp_filter.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "src/vmm/loop/event_loop.h"

namespace keel::sandbox {
namespace {

using namespace std::chrono_literals;

// A real keel event loop whose thread installs the io-loop filter as it
// starts, then runs a handler that makes `forbidden` (a raw syscall, so no
// libc wrapper changes what reaches the kernel). Returns when the process
// should already have died; exits 0 if it did not.
[[noreturn]] void io_loop_makes_call(SeccompMode mode, long forbidden) {
  vmm::EventLoop loop;
  loop.set_thread_start_hook([mode] { install_seccomp_filter(ThreadKind::io_loop, mode); });
  const int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (kick < 0) std::_Exit(90);
  std::atomic<bool> done{false};
  loop.add(kick, EPOLLIN, [&](uint32_t) {
    uint64_t value = 0;
    [[maybe_unused]] ssize_t got = read(kick, &value, sizeof value);
    const long result = syscall(forbidden, AF_INET, SOCK_DGRAM, 0);
    if (result >= 0) close(static_cast<int>(result));
    done.store(true);
  });
  loop.start();
  const uint64_t one = 1;
  if (write(kick, &one, sizeof one) != sizeof one) std::_Exit(91);
  for (int i = 0; i < 500 && !done.load(); ++i) std::this_thread::sleep_for(10ms);
  loop.stop();
  std::_Exit(done.load() ? 0 : 92);
}

TEST(SeccompFilterDeathTest, IoLoopSocketStopsKeelWithOneLine) {
  EXPECT_EXIT(io_loop_makes_call(SeccompMode::on, SYS_socket), testing::ExitedWithCode(kExitSeccompViolation),
              "^keel: seccomp: the io-loop thread made a forbidden system call socket \\(41\\); stopping\n$");
}

TEST(SeccompFilterDeathTest, VcpuExecveStopsKeel) {
  EXPECT_EXIT(
      {
        std::thread vcpu([] {
          install_seccomp_filter(ThreadKind::vcpu, SeccompMode::on);
          char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
          syscall(SYS_execve, "/bin/true", argv, nullptr);
        });
        vcpu.join();
        std::_Exit(0);
      },
      testing::ExitedWithCode(kExitSeccompViolation),
      "keel: seccomp: the vCPU thread made a forbidden system call execve \\(59\\); stopping");
}

TEST(SeccompFilterDeathTest, VcpuOpeningAFileStopsKeel) {
  EXPECT_EXIT(
      {
        std::thread vcpu([] {
          install_seccomp_filter(ThreadKind::vcpu, SeccompMode::on);
#ifdef KEEL_SANITIZE
          // The sanitizer runtimes need open/openat on every thread.
          syscall(SYS_creat, "/nonexistent-keel-dir/file", 0600);
#else
          syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
#endif
        });
        vcpu.join();
        std::_Exit(0);
      },
#ifdef KEEL_SANITIZE
      testing::ExitedWithCode(kExitSeccompViolation), "vCPU thread made a forbidden system call creat \\(85\\)");
#else
      testing::ExitedWithCode(kExitSeccompViolation), "vCPU thread made a forbidden system call openat \\(257\\)");
#endif
}

// The violation cleanup (keel's terminal restore) runs before the exit.
void write_cleanup_marker() noexcept {
  static const char kMarker[] = "cleanup ran\n";
  [[maybe_unused]] ssize_t wrote = write(STDERR_FILENO, kMarker, sizeof kMarker - 1);
}

TEST(SeccompFilterDeathTest, ViolationRunsTheCleanup) {
  EXPECT_EXIT(
      {
        set_violation_cleanup(write_cleanup_marker);
        io_loop_makes_call(SeccompMode::on, SYS_socket);
      },
      testing::ExitedWithCode(kExitSeccompViolation), "stopping\ncleanup ran\n");
}

TEST(SeccompFilterDeathTest, LogModeLetsTheCallRun) {
  EXPECT_EXIT(io_loop_makes_call(SeccompMode::log, SYS_socket), testing::ExitedWithCode(0), "");
}

TEST(SeccompFilterDeathTest, AllowedCallsKeepWorkingUnderTheFilter) {
  // The helper kind's own work (sleep, allocate, log) with the filter on.
  EXPECT_EXIT(
      {
        std::thread helper([] {
          install_seccomp_filter(ThreadKind::helper, SeccompMode::on);
          std::vector<int> grow;
          for (int i = 0; i < 100000; ++i) grow.push_back(i);
          std::this_thread::sleep_for(5ms);
          std::fprintf(stderr, "helper ok %zu\n", grow.size());
        });
        helper.join();
        std::_Exit(0);
      },
      testing::ExitedWithCode(0), "helper ok 100000");
}

TEST(SeccompFilter, OffInstallsNothing) {
  std::thread plain([] {
    install_seccomp_filter(ThreadKind::vcpu, SeccompMode::off);
    const int fd = static_cast<int>(syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0));
    EXPECT_GE(fd, 0);
    if (fd >= 0) close(fd);
  });
  plain.join();
}

TEST(EventLoopStartHook, AFailingHookFailsTheStart) {
  vmm::EventLoop loop;
  loop.set_thread_start_hook([] { throw std::runtime_error("no filter for you"); });
  EXPECT_THROW(
      {
        try {
          loop.start();
        } catch (const std::runtime_error& error) {
          EXPECT_STREQ(error.what(), "no filter for you");
          throw;
        }
      },
      std::runtime_error);
  // It starts once the hook succeeds.
  std::atomic<int> ran{0};
  loop.set_thread_start_hook([&] { ran.fetch_add(1); });
  loop.start();
  EXPECT_EQ(ran.load(), 1);
  loop.stop();
}

}  // namespace
}  // namespace keel::sandbox
