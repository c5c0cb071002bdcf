// SIGINT and SIGTERM while a VM runs: blocked in every keel thread and read
// from a signalfd on the event loop, where they become a user_quit stop
// (exit status 130 / 143). Construct before any other thread starts (threads
// inherit the mask); the destructor drains what was caught and restores the
// previous mask.
#pragma once

#include <signal.h>

#include "keel/vm_control.h"
#include "src/kvm/unique_fd.h"
#include "src/vmm/loop/event_loop.h"

namespace keel::vmm {

class HostSignals {
 public:
  HostSignals();  // throws HostError
  ~HostSignals();
  HostSignals(const HostSignals&) = delete;
  HostSignals& operator=(const HostSignals&) = delete;

  // Register the signalfd with `loop`; `vm` must outlive the registration.
  void watch(EventLoop& loop, VmControl& vm);
  // Unregister (before the loop or `vm` goes away).
  void unwatch() noexcept;

 private:
  sigset_t previous_mask_;
  kvm::UniqueFd fd_;
  EventLoop* loop_ = nullptr;
};

}  // namespace keel::vmm
