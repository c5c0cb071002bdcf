// Everything a running VM is made of, owned in one place. Members are
// declared in dependency order so that destruction (reverse order) takes
// down users before what they use: key injection, devices and buses before
// the console, the console before the event loop, everything before the
// MachineControl they report to, vCPUs before the VM, the VM before guest
// memory (its slots point there). Built by build_machine() (machine_builder.h).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "keel/bus.h"
#include "keel/doorbell.h"
#include "keel/exit_stats.h"
#include "keel/interrupts.h"
#include "keel/guest_memory.h"
#include "src/boot/boot.h"
#include "src/console/console.h"
#include "src/kvm/kvm_system.h"
#include "src/kvm/vcpu.h"
#include "src/kvm/vm.h"
#include "src/vmm/host_signals.h"
#include "src/vmm/key_injector.h"
#include "src/vmm/line_matcher.h"
#include "src/vmm/loop/event_loop.h"
#include "src/vmm/vm_control.h"

namespace keel::devices {
class AcpiPm;
class I8042;
class PciHostBridge;
}
namespace keel::qmp {
class CommandRegistry;
class QmpServer;
}

namespace keel::vmm {

class PowerButton;
class SleepControl;
struct MachineResetState;
class InputCommands;
class VmCommands;

struct Machine {
  Machine();
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  std::unique_ptr<HostSignals> signals;
  std::unique_ptr<GuestMemory> memory;
  std::unique_ptr<kvm::Kvm> kvm;
  std::unique_ptr<kvm::Vm> vm;
  std::vector<std::unique_ptr<kvm::Vcpu>> vcpus;
  bool pvm_host = false;
  MachineControl control;
  std::unique_ptr<EventLoop> loop;
  // Console input only (stdio with Ctrl-A x, pty, unix socket): a thread of
  // its own that runs no guest-driven work, so Ctrl-A x is read even while a
  // guest keeps `loop` busy. Before the console, which registers on it.
  std::unique_ptr<EventLoop> console_loop;
  // The interrupt plane (irqfd lines, MSI vectors) and ioeventfd doorbells:
  // after the loop (resample eventfds are watched there), before the buses
  // and the PCI devices on them, which hold lines and vectors.
  std::unique_ptr<InterruptController> interrupts;
  std::unique_ptr<DoorbellRegistrar> doorbells;
  std::shared_ptr<console::Console> console;
  std::unique_ptr<Bus> pio_bus;
  std::unique_ptr<Bus> mmio_bus;
  std::unique_ptr<devices::I8042> i8042;
  std::shared_ptr<devices::PciHostBridge> pci;  // also owned by the buses; QMP's query-pci reads it
  std::shared_ptr<devices::AcpiPm> acpi_pm;  // also on pio_bus; the power button presses it
  std::unique_ptr<LineMatcher> key_trigger;   // null: inject right after boot
  std::unique_ptr<KeyInjector> key_injector;  // null: no key injection
  boot::BootEntry boot_entry{};
  // Exit statistics, one block per vCPU (x-keel-stats, --stats-on-exit);
  // made with the vCPUs, always on (include/keel/exit_stats.h).
  std::unique_ptr<ExitStats> exit_stats;
  // gettid() of each vCPU thread once it runs (0 before), for QMP's
  // query-cpus-fast; sized by setup_qmp (qmp_wiring.h).
  std::vector<std::atomic<int>> vcpu_thread_ids;
  // QMP's system_powerdown and SIGPWR (qmp_power_commands.h); before the
  // QMP members, whose registry holds its handler.
  std::unique_ptr<PowerButton> power_button;
  // An in-process reset (machine_reset.h): the devices to reset, the KVM
  // power-on state, the boot image; QMP's system_reset. Before the QMP
  // members, whose registry holds its handler.
  std::unique_ptr<MachineResetState> reset;
  // ACPI S3 (acpi_s3.h): suspend and wake, QMP's system_wakeup; its timer
  // is on console_loop. Before the QMP members, whose registry holds its
  // handler.
  std::unique_ptr<SleepControl> sleep;
  // QMP (--qmp / --qmp-fd): the VM commands, their registry and the server
  // on console_loop. Last, so destroyed first: the server before the loop it
  // is registered on, the registry and commands after the server.
  std::unique_ptr<VmCommands> qmp_commands;
  std::unique_ptr<InputCommands> qmp_input;  // send-key, input-send-event (qmp_input_commands.h)
  std::unique_ptr<qmp::CommandRegistry> qmp_registry;
  std::unique_ptr<qmp::QmpServer> qmp_server;
  int qmp_listen_fd = -1;  // owned by qmp_server; watched by wait_for_qmp_client
};

}  // namespace keel::vmm
