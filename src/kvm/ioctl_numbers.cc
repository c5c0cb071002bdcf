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

// A machine reset (power_on_state.h, Vcpu::set_boot_registers,
// configure_bsp_lapic, set_mp_state), issued by the thread that serves QMP.
constexpr std::array kMachineReset = {
    KEEL_IOCTL_NUMBER(KVM_SET_IRQCHIP),  KEEL_IOCTL_NUMBER(KVM_SET_PIT2),   KEEL_IOCTL_NUMBER(KVM_SET_VCPU_EVENTS),
    KEEL_IOCTL_NUMBER(KVM_GET_SREGS),    KEEL_IOCTL_NUMBER(KVM_SET_SREGS),  KEEL_IOCTL_NUMBER(KVM_SET_REGS),
    KEEL_IOCTL_NUMBER(KVM_SET_FPU),      KEEL_IOCTL_NUMBER(KVM_SET_XCRS),   KEEL_IOCTL_NUMBER(KVM_GET_LAPIC),
    KEEL_IOCTL_NUMBER(KVM_SET_LAPIC),    KEEL_IOCTL_NUMBER(KVM_SET_MSRS),   KEEL_IOCTL_NUMBER(KVM_SET_MP_STATE),
};

#undef KEEL_IOCTL_NUMBER

}  // namespace

std::span<const IoctlNumber> vcpu_run_ioctls() noexcept { return kVcpuRun; }
std::span<const IoctlNumber> device_ioctls() noexcept { return kDevice; }
std::span<const IoctlNumber> machine_reset_ioctls() noexcept { return kMachineReset; }

}  // namespace keel::kvm
