// Wires src/sandbox's seccomp filters onto the machine's threads: the hook a
// thread runs when it starts, and a gate that lets a group of threads (the
// vCPUs) each install theirs before any of them runs the guest.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>

#include "src/sandbox/thread_kind.h"
#include "src/vmm/machine_config.h"

namespace keel::vmm {

// Installs `kind`'s filter (config.seccomp) on the thread that calls it;
// empty when --seccomp=off. Throws sandbox::SandboxError.
std::function<void()> seccomp_start_hook(sandbox::ThreadKind kind, const MachineConfig& config);

// The main thread's filter, installed last, once every other thread runs.
void install_main_thread_filter(const MachineConfig& config);

class ThreadStartGate {
 public:
  explicit ThreadStartGate(std::function<void()> hook) : hook_(std::move(hook)) {}

  // On each new thread: run the hook, then wait for open() or close().
  // True: go on. False (the hook failed, or the gate was closed): return.
  bool enter() noexcept;
  // On the creator: wait until `count` threads have entered; if a hook
  // failed, close the gate and rethrow the first failure, else open it.
  void wait_and_open(size_t count);
  void close() noexcept;

 private:
  enum class State { waiting, open, closed };
  std::function<void()> hook_;
  std::mutex lock_;
  std::condition_variable changed_;
  size_t entered_ = 0;
  std::exception_ptr failure_;
  State state_ = State::waiting;
};

}  // namespace keel::vmm
