#include "src/sandbox/rlimits.h"

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::sandbox {
namespace {

// The estimate is deliberately loose (about twice what the builder opens
// today), so a new device does not make keel fail on hosts where it worked;
// the point is a clear message instead of an EMFILE deep inside set-up.
//
// Base: stdin/out/err, /dev/kvm, the VM, guest RAM (memfd/hugetlbfs), the
// signalfd, the stop eventfd, two event loops (epoll + wake eventfd each),
// timerfds (RTC, ACPI PM timer, loop timers), an irqfd + resample eventfd
// per legacy interrupt line (UART, keyboard, mouse, RTC, SCI), the kernel
// and initrd while they load, the console (pty pair or socket pair), and
// what glibc (NSS lookups) and spdlog open: about 32.
constexpr uint64_t kBaseFds = 64;
// A vCPU fd (its kvm_run mapping needs no fd).
constexpr uint64_t kFdsPerVcpu = 2;
// Image (twice with direct=on), io_uring, its eventfd, an ioeventfd per
// queue and an irqfd per MSI-X vector (one queue, two vectors): about 8.
constexpr uint64_t kFdsPerDisk = 16;
// TAP fd, its ioctl socket, three ioeventfds, four irqfds, pcap: about 10.
constexpr uint64_t kFdsPerTapNic = 16;
// libslirp opens a host socket per guest TCP connection or UDP flow, plus
// one per hostfwd: room for a busy guest, still a bound on it.
constexpr uint64_t kFdsPerUserNic = 256;

std::string errno_text(int error) { return std::generic_category().message(error); }

}  // namespace

uint64_t estimate_fd_need(const FdDemand& demand) noexcept {
  return kBaseFds + kFdsPerVcpu * demand.vcpus + kFdsPerDisk * demand.disks + kFdsPerTapNic * demand.tap_nics +
         kFdsPerUserNic * demand.user_nics + demand.output_files;
}

uint64_t ensure_fd_limit(uint64_t need, const RlimitOps& ops) {
  rlimit limit{};
  if (ops.get(RLIMIT_NOFILE, &limit) != 0) {
    throw ConfigError(fmt::format("cannot read RLIMIT_NOFILE: {}", errno_text(errno)));
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= need) return limit.rlim_cur;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < need) {
    throw ConfigError(fmt::format("RLIMIT_NOFILE's hard limit is {} open files but this machine needs about {}; "
                                  "raise it (ulimit -n {} as root, or LimitNOFILE= for a service)",
                                  limit.rlim_max, need, need));
  }
  const rlimit raised{.rlim_cur = need, .rlim_max = limit.rlim_max};
  if (ops.set(RLIMIT_NOFILE, &raised) != 0) {
    throw ConfigError(fmt::format("cannot raise RLIMIT_NOFILE from {} to {} open files: {} (try ulimit -n {})",
                                  limit.rlim_cur, need, errno_text(errno), need));
  }
  return need;
}

}  // namespace keel::sandbox
