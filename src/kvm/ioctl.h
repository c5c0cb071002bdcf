// Checked ioctl helpers for the kvm layer: every failure becomes a HostError
// naming the ioctl ("KVM_SET_CPUID2: Invalid argument"). EINTR is retried
// (only KVM_RUN treats it as a result, and it does not use these helpers).
#pragma once

#include <sys/ioctl.h>

#include <cerrno>

#include "src/kvm/host_error.h"

namespace keel::kvm {

// ioctl(fd, request, arg) returning its non-negative result, or throwing.
template <class Arg>
int checked_ioctl(int fd, unsigned long request, const char* name, Arg arg) {
  for (;;) {
    int result = ::ioctl(fd, request, arg);
    if (result >= 0) return result;
    if (errno != EINTR) throw_host_error(name, errno);
  }
}

}  // namespace keel::kvm

// Call with the ioctl's own name: KEEL_IOCTL(fd, KVM_CREATE_VM, 0).
#define KEEL_IOCTL(fd, request, arg) ::keel::kvm::checked_ioctl((fd), (request), #request, (arg))
