#include "src/vmm/thread_sandbox.h"

#include "src/console/console.h"
#include "src/sandbox/seccomp_filter.h"

namespace keel::vmm {
namespace {

sandbox::PolicyFeatures policy_features(const MachineConfig& config) {
  sandbox::PolicyFeatures features;
  for (const net::NetSpec& nic : config.nics) {
    if (nic.backend == net::NetBackendKind::user) features.user_networking = true;
  }
  return features;
}

}  // namespace

std::function<void()> seccomp_start_hook(sandbox::ThreadKind kind, const MachineConfig& config) {
  if (config.seccomp == sandbox::SeccompMode::off) return {};
  // A violation must not leave the user's terminal raw.
  sandbox::set_violation_cleanup(console::restore_terminal_now);
  return [kind, mode = config.seccomp, features = policy_features(config)] {
    sandbox::install_seccomp_filter(kind, mode, features);
  };
}

void install_main_thread_filter(const MachineConfig& config) {
  if (std::function<void()> hook = seccomp_start_hook(sandbox::ThreadKind::main, config)) hook();
}

bool ThreadStartGate::enter() noexcept {
  std::exception_ptr failure;
  try {
    if (hook_) hook_();
  } catch (...) {
    failure = std::current_exception();
  }
  std::unique_lock guard(lock_);
  ++entered_;
  if (failure && !failure_) failure_ = failure;
  changed_.notify_all();
  if (failure) return false;
  changed_.wait(guard, [this] { return state_ != State::waiting; });
  return state_ == State::open;
}

void ThreadStartGate::wait_and_open(size_t count) {
  std::unique_lock guard(lock_);
  changed_.wait(guard, [&] { return entered_ >= count; });
  state_ = failure_ ? State::closed : State::open;
  changed_.notify_all();
  if (failure_) std::rethrow_exception(failure_);
}

void ThreadStartGate::close() noexcept {
  std::lock_guard guard(lock_);
  state_ = State::closed;
  changed_.notify_all();
}

}  // namespace keel::vmm
