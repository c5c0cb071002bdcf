#include "src/kvm/kvm_system.h"

#include <fcntl.h>
#include "src/kvm/linux_kvm.h"

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "src/kvm/capabilities.h"
#include "src/kvm/ioctl.h"
#include "src/kvm/vm.h"

namespace keel::kvm {

Kvm::Kvm() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    throw HostError(errno_message("cannot open /dev/kvm", error) +
                    " (keel needs KVM: is the kvm module loaded and /dev/kvm accessible to this user?)");
  }
  fd_ = UniqueFd(fd);
  int version = KEEL_IOCTL(fd_.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    throw HostError(fmt::format("KVM API version is {}, keel needs {}", version, KVM_API_VERSION));
  }
  auto missing = missing_capabilities(required_capabilities(),
                                      [this](int cap) { return check_extension(cap) > 0; });
  if (!missing.empty()) throw HostError(describe_missing(missing));
}

int Kvm::check_extension(int capability) const {
  return KEEL_IOCTL(fd_.get(), KVM_CHECK_EXTENSION, capability);
}

std::vector<CpuidEntry> Kvm::supported_cpuid() const {
  // The kernel fails with E2BIG while the buffer is too small; grow it.
  for (uint32_t capacity = 128; capacity <= 4096; capacity *= 2) {
    size_t bytes = sizeof(kvm_cpuid2) + capacity * sizeof(kvm_cpuid_entry2);
    std::vector<std::byte> buffer(bytes);
    auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buffer.data());
    cpuid->nent = capacity;
    if (::ioctl(fd_.get(), KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
      if (errno == E2BIG) continue;
      throw_host_error("KVM_GET_SUPPORTED_CPUID", errno);
    }
    std::vector<CpuidEntry> entries;
    entries.reserve(cpuid->nent);
    for (uint32_t i = 0; i < cpuid->nent; ++i) {
      const kvm_cpuid_entry2& e = cpuid->entries[i];
      entries.push_back(CpuidEntry{.function = e.function,
                                   .index = e.index,
                                   .flags = e.flags,
                                   .eax = e.eax,
                                   .ebx = e.ebx,
                                   .ecx = e.ecx,
                                   .edx = e.edx});
    }
    return entries;
  }
  throw HostError("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

size_t Kvm::vcpu_mmap_size() const {
  return static_cast<size_t>(KEEL_IOCTL(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0));
}

int Kvm::max_vcpus() const {
  int max = check_extension(KVM_CAP_MAX_VCPUS);
  if (max > 0) return max;
  int recommended = check_extension(KVM_CAP_NR_VCPUS);
  return recommended > 0 ? recommended : 4;  // the API document's fallback
}

std::unique_ptr<Vm> Kvm::create_vm() const {
  int vm_fd = KEEL_IOCTL(fd_.get(), KVM_CREATE_VM, 0);
  return std::unique_ptr<Vm>(new Vm(*this, UniqueFd(vm_fd)));
}

}  // namespace keel::kvm
