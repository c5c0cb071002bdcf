// Loads a thread kind's allow-list (seccomp_policy.h) as a seccomp-bpf filter
// on the calling thread, with libseccomp.
#pragma once

#include <stdexcept>
#include <string>

#include "src/sandbox/seccomp_mode.h"
#include "src/sandbox/seccomp_policy.h"
#include "src/sandbox/thread_kind.h"

namespace keel::sandbox {

// keel's exit status after a forbidden system call in --seccomp=on mode:
// 128 + SIGSYS, as a shell reports a death by SIGSYS.
inline constexpr int kExitSeccompViolation = 159;

class SandboxError : public std::runtime_error {
 public:
  explicit SandboxError(const std::string& message) : std::runtime_error(message) {}
};

// Run by the SIGSYS handler after its message and before _exit: must be
// async-signal-safe and use only calls every policy allows (the terminal
// ioctls, write). keel passes console::restore_terminal_now.
void set_violation_cleanup(void (*cleanup)() noexcept) noexcept;

// Installs `kind`'s filter on the calling thread only (no TSYNC: each thread
// installs its own once set up; threads it creates later inherit it), after
// PR_SET_NO_NEW_PRIVS. Also names the thread ("keel-io", ...: the name the
// kernel log shows). on: a call outside the list raises SIGSYS, whose handler
// prints one line ("keel: seccomp: the io-loop thread made a forbidden
// system call socket (41); stopping"), runs the cleanup and exits with
// kExitSeccompViolation. log: the kernel logs the call and lets it run.
// off: does nothing. Throws SandboxError (one line) if the filter cannot be
// built or loaded.
void install_seccomp_filter(ThreadKind kind, SeccompMode mode, const PolicyFeatures& features = {});

}  // namespace keel::sandbox
