// Errors from the host side of KVM: /dev/kvm missing, a capability the host
// lacks, an ioctl that failed. Thrown while the machine is built; on the vCPU
// paths (KVM_RUN and exits) errors are returned as values instead.
#pragma once

#include <stdexcept>
#include <string>

namespace keel::kvm {

class HostError : public std::runtime_error {
 public:
  explicit HostError(const std::string& message) : std::runtime_error(message) {}
};

// "<what>: <strerror(error)>", e.g. "KVM_CREATE_VM: Device or resource busy".
[[nodiscard]] std::string errno_message(const char* what, int error);

// Throws HostError(errno_message(what, error)).
[[noreturn]] void throw_host_error(const char* what, int error);

}  // namespace keel::kvm
