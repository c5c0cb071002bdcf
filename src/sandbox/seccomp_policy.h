// The seccomp allow-lists, one per thread kind, as data: which system calls a
// thread may make after set-up and, for a few, with which arguments (ioctl
// requests, no PROT_EXEC mappings, clone only for threads). Pure: building a
// policy touches no kernel state, so tests check it without loading it
// (seccomp_filter.h turns a policy into a kernel filter).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "src/sandbox/thread_kind.h"

namespace keel::sandbox {

// (argument[index] & mask) == value.
struct ArgMatch {
  unsigned index;
  uint64_t mask;
  uint64_t value;
};

struct SyscallRule {
  long number;                    // SYS_* of the native (x86-64) ABI
  std::optional<ArgMatch> match;  // none: any arguments
  int error = 0;                  // 0: allow; otherwise the call fails with this errno
  const char* what = nullptr;     // the ioctl request's name, for messages and tests
};

// Whatever a policy depends on besides the thread kind: only what the VM's
// configuration needs is allowed.
struct PolicyFeatures {
  bool user_networking = false;  // --net user: libslirp makes sockets on the io loop
};

struct SeccompPolicy {
  ThreadKind kind;
  std::vector<SyscallRule> rules;  // rules for one syscall are alternatives (any may match)

  enum class Verdict { allow, error, forbidden };
  // What the filter does with this call, evaluated here the way the kernel
  // filter would (for tests).
  Verdict check(long number, const std::array<uint64_t, 6>& args = {}) const noexcept;
  // Distinct system calls the policy allows at all (with any arguments).
  size_t syscall_count() const;
};

SeccompPolicy seccomp_policy(ThreadKind kind, const PolicyFeatures& features = {});

}  // namespace keel::sandbox
