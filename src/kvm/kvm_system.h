// The KVM system fd (/dev/kvm): API version and capability checks, the
// supported CPUID list, and VM creation.
#pragma once

#include <memory>
#include <vector>

#include "src/kvm/cpuid.h"
#include "src/kvm/unique_fd.h"

namespace keel::kvm {

class Vm;

class Kvm {
 public:
  // Opens /dev/kvm, checks KVM_GET_API_VERSION == 12 and every required
  // capability. Throws HostError with a plain message otherwise.
  Kvm();
  Kvm(const Kvm&) = delete;
  Kvm& operator=(const Kvm&) = delete;

  // KVM_CHECK_EXTENSION: > 0 when present (some capabilities return a count).
  int check_extension(int capability) const;
  // KVM_GET_SUPPORTED_CPUID, as keel's CpuidEntry list.
  std::vector<CpuidEntry> supported_cpuid() const;
  // KVM_GET_VCPU_MMAP_SIZE: the size of each vCPU's kvm_run mapping.
  size_t vcpu_mmap_size() const;
  // The most vCPUs one VM may have (KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS).
  int max_vcpus() const;

  // KVM_CREATE_VM (machine type 0: the default x86 VM).
  std::unique_ptr<Vm> create_vm() const;

  int fd() const noexcept { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace keel::kvm
