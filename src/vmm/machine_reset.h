// A machine reset in process (issue 10, QMP system_reset): what a Machine
// keeps for it and the real steps of system_reset.h on a running VM. Built
// by the machine builder: every device that has power-on state is in
// `devices`, in reset order; the KVM power-on state is captured before any
// vCPU runs; the boot image stays in memory.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "keel/resettable.h"
#include "src/boot/boot.h"
#include "src/kvm/boot_msrs.h"
#include "src/kvm/boot_registers.h"
#include "src/kvm/power_on_state.h"
#include "src/vmm/qmp_reset_command.h"
#include "src/vmm/system_reset.h"

namespace keel::vmm {

struct Machine;

struct MachineResetState {
  ResetList devices;
  std::optional<kvm::PlatformPowerOnState> platform;
  std::vector<kvm::VcpuPowerOnState> vcpus;  // by vCPU id
  std::vector<kvm::MsrValue> boot_msrs;
  boot::BootConfig boot_config;
  std::optional<boot::ReloadableImage> image;  // set by the builder
  std::mutex lock;  // one reset at a time
  std::unique_ptr<ResetCommand> command;  // QMP system_reset; null without QMP
};

// Parks the vCPUs, resets m.reset->devices, the irqchip/PIT, reloads the
// boot image (kind system), puts each vCPU in its boot state, releases them
// unless the VM was paused. On a failure after the devices were reset the
// VM cannot go on: it stops with an error (status 1). Call from a control
// thread (the console loop), never a vCPU thread.
ResetResult reset_machine(Machine& m, ResetKind kind) noexcept;

// The vCPU half, reusable for an S3 wake: every vCPU to its power-on
// state, the BSP then at `bsp_entry` and runnable, the APs waiting for
// INIT/SIPI. Every vCPU must be parked.
Result<void> reset_vcpus(Machine& m, const kvm::BootRegisters& bsp_entry) noexcept;

// Loads the kept boot image again and updates m.boot_entry (system_reset,
// and an S3 wake without a usable waking vector). Every vCPU must be parked.
Result<void> reload_boot_image(Machine& m) noexcept;

}  // namespace keel::vmm
