#include "src/kvm/power_on_state.h"

#include "src/kvm/linux_kvm.h"

#include <sys/ioctl.h>

#include <array>
#include <cerrno>
#include <optional>

#include "src/kvm/ioctl.h"
#include "src/kvm/vcpu.h"
#include "src/kvm/vm.h"

namespace keel::kvm {

namespace {

// One ioctl on the reset path: no exceptions, EINTR retried.
template <class Arg>
bool set_ioctl(int fd, unsigned long request, Arg arg) noexcept {
  for (;;) {
    if (::ioctl(fd, request, arg) >= 0) return true;
    if (errno != EINTR) return false;
  }
}

// The KVM paravirtual MSRs a guest may have pointed at its RAM, and their
// reset values (Documentation/virt/kvm/x86/msr.rst): off, except poll
// control, which is 1 (host-side polling allowed) at vCPU creation.
constexpr std::array<MsrValue, 6> kParavirtMsrsOff = {{
    {0x12, 0, "MSR_KVM_SYSTEM_TIME"},
    {0x4b56'4d01, 0, "MSR_KVM_SYSTEM_TIME_NEW"},
    {0x4b56'4d02, 0, "MSR_KVM_ASYNC_PF_EN"},
    {0x4b56'4d03, 0, "MSR_KVM_STEAL_TIME"},
    {0x4b56'4d04, 0, "MSR_KVM_PV_EOI_EN"},
    {0x4b56'4d05, 1, "MSR_KVM_POLL_CONTROL"},
}};

// One MSR per KVM_SET_MSRS: KVM stops at the first it refuses, and a
// refused one (the host lacks it) is skipped exactly as at start-up.
void set_msr(int fd, const MsrValue& msr) noexcept {
  struct {
    kvm_msrs header;
    kvm_msr_entry entry;
  } buffer{};
  buffer.header.nmsrs = 1;
  buffer.entry.index = msr.index;
  buffer.entry.data = msr.value;
  (void)set_ioctl(fd, KVM_SET_MSRS, &buffer);
}

}  // namespace

struct PlatformPowerOnState::Saved {
  std::array<kvm_irqchip, 3> chips{};
  kvm_pit_state2 pit{};
};

PlatformPowerOnState::PlatformPowerOnState(std::unique_ptr<Saved> saved) noexcept : saved_(std::move(saved)) {}
PlatformPowerOnState::~PlatformPowerOnState() = default;
PlatformPowerOnState::PlatformPowerOnState(PlatformPowerOnState&&) noexcept = default;
PlatformPowerOnState& PlatformPowerOnState::operator=(PlatformPowerOnState&&) noexcept = default;

PlatformPowerOnState PlatformPowerOnState::capture(const Vm& vm) {
  auto saved = std::make_unique<Saved>();
  const uint32_t chip_ids[] = {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC};
  for (size_t i = 0; i < saved->chips.size(); ++i) {
    saved->chips[i].chip_id = chip_ids[i];
    KEEL_IOCTL(vm.fd(), KVM_GET_IRQCHIP, &saved->chips[i]);
  }
  KEEL_IOCTL(vm.fd(), KVM_GET_PIT2, &saved->pit);
  return PlatformPowerOnState(std::move(saved));
}

Result<void> PlatformPowerOnState::restore(const Vm& vm) const noexcept {
  if (!saved_) return fail(Errc::not_found, "no irqchip power-on state captured");
  for (const kvm_irqchip& chip : saved_->chips) {
    kvm_irqchip copy = chip;
    if (!set_ioctl(vm.fd(), KVM_SET_IRQCHIP, &copy)) return fail(Errc::io_error, "KVM_SET_IRQCHIP");
  }
  kvm_pit_state2 pit = saved_->pit;
  if (!set_ioctl(vm.fd(), KVM_SET_PIT2, &pit)) return fail(Errc::io_error, "KVM_SET_PIT2");
  return {};
}

struct VcpuPowerOnState::Saved {
  kvm_sregs sregs{};
  kvm_regs regs{};
  kvm_fpu fpu{};
  kvm_vcpu_events events{};
  kvm_lapic_state lapic{};
  std::optional<kvm_xcrs> xcrs;  // hosts without XSAVE have none
};

VcpuPowerOnState::VcpuPowerOnState(std::unique_ptr<Saved> saved) noexcept : saved_(std::move(saved)) {}
VcpuPowerOnState::~VcpuPowerOnState() = default;
VcpuPowerOnState::VcpuPowerOnState(VcpuPowerOnState&&) noexcept = default;
VcpuPowerOnState& VcpuPowerOnState::operator=(VcpuPowerOnState&&) noexcept = default;

VcpuPowerOnState VcpuPowerOnState::capture(const Vcpu& vcpu) {
  auto saved = std::make_unique<Saved>();
  const int fd = vcpu.fd();
  KEEL_IOCTL(fd, KVM_GET_SREGS, &saved->sregs);
  KEEL_IOCTL(fd, KVM_GET_REGS, &saved->regs);
  KEEL_IOCTL(fd, KVM_GET_FPU, &saved->fpu);
  KEEL_IOCTL(fd, KVM_GET_VCPU_EVENTS, &saved->events);
  KEEL_IOCTL(fd, KVM_GET_LAPIC, &saved->lapic);
  kvm_xcrs xcrs{};
  if (::ioctl(fd, KVM_GET_XCRS, &xcrs) == 0) saved->xcrs = xcrs;
  return VcpuPowerOnState(std::move(saved));
}

Result<void> VcpuPowerOnState::restore(const Vcpu& vcpu, std::span<const MsrValue> msrs) const noexcept {
  if (!saved_) return fail(Errc::not_found, "no vCPU power-on state captured");
  const int fd = vcpu.fd();
  // Events first: an exception or interrupt the old guest had pending must
  // not be delivered into the new one.
  kvm_vcpu_events events = saved_->events;
  if (!set_ioctl(fd, KVM_SET_VCPU_EVENTS, &events)) return fail(Errc::io_error, "KVM_SET_VCPU_EVENTS");
  kvm_sregs sregs = saved_->sregs;
  if (!set_ioctl(fd, KVM_SET_SREGS, &sregs)) return fail(Errc::io_error, "KVM_SET_SREGS");
  kvm_regs regs = saved_->regs;
  if (!set_ioctl(fd, KVM_SET_REGS, &regs)) return fail(Errc::io_error, "KVM_SET_REGS");
  kvm_fpu fpu = saved_->fpu;
  if (!set_ioctl(fd, KVM_SET_FPU, &fpu)) return fail(Errc::io_error, "KVM_SET_FPU");
  if (saved_->xcrs) {
    kvm_xcrs xcrs = *saved_->xcrs;
    if (!set_ioctl(fd, KVM_SET_XCRS, &xcrs)) return fail(Errc::io_error, "KVM_SET_XCRS");
  }
  kvm_lapic_state lapic = saved_->lapic;
  if (!set_ioctl(fd, KVM_SET_LAPIC, &lapic)) return fail(Errc::io_error, "KVM_SET_LAPIC");
  for (const MsrValue& msr : msrs) set_msr(fd, msr);
  for (const MsrValue& msr : kParavirtMsrsOff) set_msr(fd, msr);
  return {};
}

}  // namespace keel::kvm
