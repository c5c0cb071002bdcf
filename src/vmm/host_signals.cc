#include "src/vmm/host_signals.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "src/kvm/host_error.h"
#include "src/vmm/exit_status.h"

namespace keel::vmm {

namespace {
sigset_t quit_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

HostSignals::HostSignals() {
  sigset_t set = quit_signals();
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
  unwatch();
  // Consume signals already caught so unblocking does not deliver them
  // again with their default action (killing keel after it has cleaned up).
  signalfd_siginfo info;
  while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  fd_.reset();
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

void HostSignals::watch(EventLoop& loop, VmControl& vm) {
  int fd = fd_.get();
  loop.add(fd, EPOLLIN, [fd, &vm](uint32_t) {
    signalfd_siginfo info;
    while (::read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      bool is_int = info.ssi_signo == SIGINT;
      spdlog::info("{}: stopping the VM", is_int ? "SIGINT" : "SIGTERM");
      vm.request_stop(StopReason::user_quit, is_int ? kExitSigint : kExitSigterm);
    }
  });
  loop_ = &loop;
}

void HostSignals::unwatch() noexcept {
  if (loop_) loop_->remove(fd_.get());
  loop_ = nullptr;
}

}  // namespace keel::vmm
