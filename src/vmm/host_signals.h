// SIGINT and SIGTERM while a VM runs: blocked in every keel thread and read
// from a signalfd by the thread that waits for the VM to stop (the main
// thread, wait_for_stop() in stop_waiter.h) -- never by the event loop,
// which a guest can keep busy -- where they become a user_quit stop (exit
// status 130 / 143). Construct before any other thread starts (threads
// inherit the mask); the destructor drains what was caught and restores the
// previous mask.
#pragma once

#include <signal.h>

#include "keel/vm_control.h"
#include "src/kvm/unique_fd.h"

namespace keel::vmm {

class HostSignals {
 public:
  HostSignals();  // throws HostError
  ~HostSignals();
  HostSignals(const HostSignals&) = delete;
  HostSignals& operator=(const HostSignals&) = delete;

  // The signalfd: readable while a SIGINT or SIGTERM is pending.
  int fd() const noexcept { return fd_.get(); }
  // Read every pending SIGINT/SIGTERM; each becomes a user_quit stop request
  // on `vm` (the first request wins). Never blocks.
  void handle_pending(VmControl& vm) noexcept;

 private:
  sigset_t previous_mask_;
  kvm::UniqueFd fd_;
};

}  // namespace keel::vmm
