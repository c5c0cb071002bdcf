// SIGINT, SIGTERM and SIGPWR while a VM runs: blocked in every keel thread
// and read from a signalfd by the thread that waits for the VM to stop (the
// main thread, wait_for_stop() in stop_waiter.h) -- never by the event loop,
// which a guest can keep busy. SIGINT/SIGTERM become a user_quit stop (exit
// status 130 / 143) at once; SIGPWR presses the ACPI power button
// (qmp_power_commands.h), as a UPS daemon or init would ask for a clean
// shutdown. Construct before any other thread starts (threads inherit the
// mask); the destructor drains what was caught and restores the previous
// mask.
#pragma once

#include <signal.h>

#include <functional>

#include "keel/vm_control.h"
#include "src/kvm/unique_fd.h"

namespace keel::vmm {

class HostSignals {
 public:
  HostSignals();  // throws HostError
  ~HostSignals();
  HostSignals(const HostSignals&) = delete;
  HostSignals& operator=(const HostSignals&) = delete;

  // The signalfd: readable while a SIGINT, SIGTERM or SIGPWR is pending.
  int fd() const noexcept { return fd_.get(); }
  // Read every pending signal: each SIGINT/SIGTERM becomes a user_quit stop
  // request on `vm` (the first request wins), each SIGPWR calls the power
  // button (logged and ignored without one). Never blocks.
  void handle_pending(VmControl& vm) noexcept;
  // What SIGPWR does. Set before the thread that calls handle_pending runs.
  void set_power_button(std::function<void()> press) { power_button_ = std::move(press); }

 private:
  std::function<void()> power_button_;
  sigset_t previous_mask_;
  kvm::UniqueFd fd_;
};

}  // namespace keel::vmm
