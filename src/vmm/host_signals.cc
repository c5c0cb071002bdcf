#include "src/vmm/host_signals.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "src/kvm/host_error.h"
#include "src/vmm/exit_status.h"

namespace keel::vmm {

namespace {
sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGPWR);
  return set;
}
}  // namespace

HostSignals::HostSignals() {
  sigset_t set = handled_signals();
  int error = pthread_sigmask(SIG_BLOCK, &set, &previous_mask_);
  if (error != 0) kvm::throw_host_error("pthread_sigmask", error);
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
    kvm::throw_host_error("signalfd", saved);
  }
  fd_ = kvm::UniqueFd(fd);
}

HostSignals::~HostSignals() {
  // Consume signals already caught so unblocking does not deliver them
  // again with their default action (killing keel after it has cleaned up).
  signalfd_siginfo info;
  while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  fd_.reset();
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

void HostSignals::handle_pending(VmControl& vm) noexcept {
  signalfd_siginfo info;
  while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo == SIGPWR) {
      if (power_button_) {
        power_button_();  // PowerButton::press: noexcept, logs itself
      } else {
        try {
          spdlog::info("SIGPWR: no ACPI power button to press; ignored");
        } catch (...) {
        }
      }
      continue;
    }
    const bool is_int = info.ssi_signo == SIGINT;
    try {
      spdlog::info("{}: stopping the VM", is_int ? "SIGINT" : "SIGTERM");
    } catch (...) {
      // Logging failed: the stop still goes through.
    }
    vm.request_stop(StopReason::user_quit, is_int ? kExitSigint : kExitSigterm);
  }
}

}  // namespace keel::vmm
