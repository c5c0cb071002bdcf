// The kinds of thread keel runs; each gets its own seccomp allow-list
// (seccomp_policy.h).
#pragma once

#include <cstdint>
#include <string_view>

namespace keel::sandbox {

enum class ThreadKind : uint8_t {
  main,          // builds the VM, serves signals and --timeout, tears down, writes reports
  vcpu,          // KVM_RUN and the device accesses of its exits
  io_loop,       // the device event loop: doorbells, timers, disk and network I/O
  console_loop,  // console input (stdio, pty, unix socket), Ctrl-A x
  helper,        // small helper threads (key injection)
};

inline constexpr ThreadKind kAllThreadKinds[] = {ThreadKind::main, ThreadKind::vcpu, ThreadKind::io_loop,
                                                 ThreadKind::console_loop, ThreadKind::helper};

// "main", "vCPU", "io-loop", "console-loop", "helper": as the violation message says it.
constexpr std::string_view thread_kind_name(ThreadKind kind) noexcept {
  switch (kind) {
    case ThreadKind::main: return "main";
    case ThreadKind::vcpu: return "vCPU";
    case ThreadKind::io_loop: return "io-loop";
    case ThreadKind::console_loop: return "console-loop";
    case ThreadKind::helper: return "helper";
  }
  return "unknown";
}

}  // namespace keel::sandbox
