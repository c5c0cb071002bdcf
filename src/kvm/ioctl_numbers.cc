#include "src/kvm/ioctl_numbers.h"

#include <array>

#include "src/kvm/linux_kvm.h"

namespace keel::kvm {
namespace {

#define KEEL_IOCTL_NUMBER(request) IoctlNumber{static_cast<unsigned long>(request), #request}

constexpr std::array kVcpuRun = {
    KEEL_IOCTL_NUMBER(KVM_RUN),
    KEEL_IOCTL_NUMBER(KVM_GET_REGS),
    KEEL_IOCTL_NUMBER(KVM_GET_SREGS),
};

constexpr std::array kDevice = {
    KEEL_IOCTL_NUMBER(KVM_IRQ_LINE),
    KEEL_IOCTL_NUMBER(KVM_IRQFD),
    KEEL_IOCTL_NUMBER(KVM_IOEVENTFD),
    KEEL_IOCTL_NUMBER(KVM_SET_GSI_ROUTING),
};

#undef KEEL_IOCTL_NUMBER

}  // namespace

std::span<const IoctlNumber> vcpu_run_ioctls() noexcept { return kVcpuRun; }
std::span<const IoctlNumber> device_ioctls() noexcept { return kDevice; }

}  // namespace keel::kvm
