#include "src/vmm/machine_builder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "devices/e1000/e1000.h"
#include "devices/i8042/i8042.h"
#include "devices/acpi/acpi_pm.h"
#include "devices/legacy/debug_exit.h"
#include "devices/legacy/legacy_ports.h"
#include "devices/pci/pci_host_bridge.h"
#include "devices/rtc/cmos_rtc.h"
#include "devices/uart/uart_8250.h"
#include "keel/clock.h"
#include "keel/config_error.h"
#include "src/kvm/boot_msrs.h"
#include "src/kvm/boot_registers.h"
#include "src/kvm/cpuid.h"
#include "src/kvm/kvm_doorbells.h"
#include "src/kvm/kvm_interrupts.h"
#include "src/kvm/pvm.h"
#include "src/net/open_backend.h"
#include "src/qmp/server.h"
#include "src/vmm/default_guest/default_guest.h"
#include "src/vmm/qmp_commands.h"
#include "src/vmm/qmp_input_commands.h"
#include "src/vmm/acpi_s3.h"
#include "src/vmm/machine_reset.h"
#include "src/vmm/qmp_power_commands.h"
#include "src/vmm/qmp_reset_command.h"
#include "src/vmm/qmp_wiring.h"
#include "src/vmm/vcpu_runner.h"
#include "virtio/blk/virtio_blk.h"
#include "virtio/net/virtio_net.h"
#include "virtio/pci/virtio_pci_device.h"

namespace keel::vmm {

Machine::Machine() = default;
Machine::~Machine() = default;  // here, where VmCommands, CommandRegistry and QmpServer are complete

namespace {

void validate(const MachineConfig& config) {
  if (config.cpus < 1 || config.cpus > kMaxCpus) {
    throw ConfigError(fmt::format("--cpus {} is out of range (1..{})", config.cpus, kMaxCpus));
  }
  for (const net::NetSpec& nic : config.nics) {
    // Checked before any backend is opened, so a bad pcap path never leaves
    // a tap created for nothing (PcapRecorder::create reports other errors).
    if (nic.pcap) {
      const std::filesystem::path parent = nic.pcap->has_parent_path() ? nic.pcap->parent_path() : ".";
      if (!std::filesystem::is_directory(parent)) {
        throw ConfigError(fmt::format("--net pcap={}: the directory '{}' does not exist", nic.pcap->string(),
                                      parent.string()));
      }
    }
  }
  net::nic_macs(config.nics);  // refuses two NICs with one MAC before KVM is touched
}

void insert_or_throw(Bus& bus, uint64_t base, uint64_t length, std::shared_ptr<BusDevice> device,
                     const char* what) {
  if (!bus.insert(base, length, std::move(device), what)) {
    throw ConfigError(fmt::format("{} at {} {:#x} (length {}) overlaps another device", what, bus.name(), base,
                                  length));
  }
}

void create_vm(Machine& m, const MachineConfig& config) {
  m.memory = std::make_unique<GuestMemory>(config.memory);
  m.kvm = std::make_unique<kvm::Kvm>();
  int max_vcpus = m.kvm->max_vcpus();
  if (config.cpus > static_cast<uint32_t>(max_vcpus)) {
    throw ConfigError(fmt::format("--cpus {}: this host's KVM allows at most {} vCPUs", config.cpus, max_vcpus));
  }
  m.pvm_host = kvm::is_pvm_host();
  if (m.pvm_host) spdlog::info("host KVM is PVM: guest code runs through KVM's instruction emulator");
  m.vm = m.kvm->create_vm();
  m.vm->setup_pc_platform();
  // The irqchip and PIT as KVM made them: what a machine reset restores.
  m.reset = std::make_unique<MachineResetState>();
  m.reset->platform = kvm::PlatformPowerOnState::capture(*m.vm);
  m.vm->add_memory(*m.memory);
}

std::pair<uint64_t, uint64_t> low_and_high_ram(const GuestMemory& memory) {
  uint64_t low = 0, high = 0;
  for (const MemoryRegion& region : memory.regions()) {
    (raw(region.guest_base) >= layout::kHighRamStart ? high : low) += region.size;
  }
  return {low, high};
}

// One virtio-blk PCI device per --disk, in slots 1, 2, ... in the order given.
// Image problems (missing, unreadable, locked) are ConfigErrors naming the path.
void add_disks(Machine& m, const MachineConfig& config, devices::PciHostBridge& pci) {
  for (const virtio::blk::DiskSpec& disk : config.disks) {
    auto blk = virtio::blk::VirtioBlk::open(disk, *m.loop);
    auto device = std::make_shared<virtio::VirtioPciDevice>(std::move(blk), *m.memory, *m.interrupts, *m.doorbells,
                                                            *m.loop);
    uint8_t slot = pci.add_device(std::move(device));
    spdlog::info("disk {}: virtio-blk at PCI 00:{:02x}.0{}", disk.path, slot, disk.readonly ? " (read-only)" : "");
  }
}

std::string describe_backend(const net::NetSpec& spec) {
  std::string text =
      spec.backend == net::NetBackendKind::tap ? "tap " + spec.tap_name : std::string("user-mode network");
  if (spec.pcap) text += ", recorded to " + spec.pcap->string();
  return text;
}

// One NIC (virtio-net or e1000) per --net, in the slots after the disks. The
// backend (tap, slirp, pcap) is opened here: problems are ConfigErrors.
void add_nics(Machine& m, const MachineConfig& config, devices::PciHostBridge& pci) {
  const std::vector<net::MacAddress> macs = net::nic_macs(config.nics);
  for (size_t index = 0; index < config.nics.size(); ++index) {
    const net::NetSpec& spec = config.nics[index];
    std::unique_ptr<net::NetBackend> backend = net::open_backend(spec, *m.loop, *m.loop);
    std::shared_ptr<devices::PciDevice> device;
    if (spec.model == net::NicModel::e1000) {
      device = std::make_shared<devices::E1000>(std::move(backend), macs[index], *m.memory, *m.loop, system_clock());
    } else {
      auto nic = std::make_shared<virtio::net::VirtioNet>(std::move(backend),
                                                          virtio::net::NetOptions{.mac = macs[index], .mtu = 1500});
      device = std::make_shared<virtio::VirtioPciDevice>(std::move(nic), *m.memory, *m.interrupts, *m.doorbells,
                                                         *m.loop);
    }
    uint8_t slot = pci.add_device(std::move(device));
    spdlog::info("NIC {}: {} {} at PCI 00:{:02x}.0 on {}", index + 1,
                 spec.model == net::NicModel::e1000 ? "e1000" : "virtio-net", net::format_mac(macs[index]), slot,
                 describe_backend(spec));
  }
}

void add_devices(Machine& m, const MachineConfig& config) {
  Bus& pio = *m.pio_bus;
  kvm::Vm& vm = *m.vm;

  auto uart = std::make_shared<devices::Uart8250>(vm.irq_line(devices::Uart8250::kCom1Irq), m.console);
  insert_or_throw(pio, devices::Uart8250::kCom1Port, devices::Uart8250::kPortCount, uart, "COM1 UART");
  m.console->set_receiver(uart);
  m.reset->devices.add("COM1 UART", uart.get());

  m.i8042 = std::make_unique<devices::I8042>(vm.irq_line(devices::I8042::kKeyboardIrq),
                                             vm.irq_line(devices::I8042::kMouseIrq), m.control);
  insert_or_throw(pio, devices::I8042::kDataPort, 1, m.i8042->data_port(), "i8042 data port");
  insert_or_throw(pio, devices::I8042::kCommandPort, 1, m.i8042->command_port(), "i8042 command port");
  m.reset->devices.add("i8042", m.i8042.get());

  auto rtc = std::make_shared<devices::CmosRtc>(vm.irq_line(devices::CmosRtc::kIrq), system_clock(), *m.loop);
  auto [low_ram, high_ram] = low_and_high_ram(*m.memory);
  rtc->set_memory_size(low_ram, high_ram);
  insert_or_throw(pio, devices::CmosRtc::kBasePort, devices::CmosRtc::kPortCount, rtc, "CMOS RTC");
  m.reset->devices.add("CMOS RTC", rtc.get());
  // The alarm wakes a guest in S3 (acpi_s3.h); m.sleep is looked up when it
  // fires (it is made after the devices) and asked without blocking.
  rtc->set_alarm_listener([machine = &m] {
    if (machine->sleep) machine->sleep->request_wake(devices::AcpiPm::WakeSource::rtc_alarm);
  });

  insert_or_throw(pio, config.debug_exit_port, devices::DebugExit::kPortCount,
                  std::make_shared<devices::DebugExit>(m.control), "debug-exit port");
  insert_or_throw(pio, devices::PostCodePort::kPort, 1, std::make_shared<devices::PostCodePort>(), "POST port");
  insert_or_throw(pio, devices::SystemControlPortA::kPort, 1, std::make_shared<devices::SystemControlPortA>(m.control),
                  "system control port A");
  // The PCI host bridge owns 0xCF8-0xCFF and forwards byte accesses at 0xCF9
  // to the PIIX reset control register, as on real PIIX chipsets.
  auto pci = devices::PciHostBridge::create(pio, *m.mmio_bus, std::make_shared<devices::ResetControlPort>(m.control),
                                           m.interrupts.get());
  pci->install();
  m.pci = pci;
  m.acpi_pm = std::make_shared<devices::AcpiPm>(vm.irq_line(devices::AcpiPm::kSciIrq), m.control, system_clock(),
                                                *m.loop);
  insert_or_throw(pio, devices::AcpiPm::kBasePort, devices::AcpiPm::kPortCount, m.acpi_pm, "ACPI PM registers");
  m.reset->devices.add("ACPI PM", m.acpi_pm.get());
  add_disks(m, config, *pci);
  add_nics(m, config, *pci);
  // Last: the bridge resets every PCI function and maps its BARs again.
  m.reset->devices.add("PCI", pci.get());
}

// The image stays in m.reset, so a machine reset loads it again the same way.
boot::BootEntry load_guest(Machine& m, const MachineConfig& config) {
  boot::BootConfig boot_config{.kernel = {}, .initrd = config.initrd, .cmdline = config.cmdline,
                               .cpu_count = config.cpus};
  if (config.kernel && !config.kernel->empty()) {
    boot_config.kernel = *config.kernel;
    m.reset->image.emplace(boot::open_reloadable(*m.memory, boot_config));
  } else {
    if (boot_config.cmdline.empty()) boot_config.cmdline = kDefaultGuestCmdline;
    m.reset->image.emplace(boot::open_reloadable(default_guest_image(), boot_config));
  }
  m.reset->boot_config = boot_config;
  return boot::load_reloadable(*m.memory, *m.reset->image, boot_config);
}

void create_vcpus(Machine& m, const MachineConfig& config) {
  std::vector<kvm::CpuidEntry> supported = m.kvm->supported_cpuid();
  std::vector<kvm::MsrValue> msrs = kvm::boot_msrs(kvm::amd_tsc_freq_sel_expected(supported));
  m.reset->boot_msrs = msrs;
  for (uint32_t id = 0; id < config.cpus; ++id) {
    std::unique_ptr<kvm::Vcpu> vcpu = m.vm->create_vcpu(id);
    std::vector<kvm::CpuidEntry> cpuid =
        kvm::patch_cpuid(supported, kvm::CpuTopology{.apic_id = id, .cpu_count = config.cpus});
    kvm::hide_cpu_features(cpuid, config.hidden_cpuid);  // --cpu-features
    vcpu->set_cpuid(cpuid);
    m.reset->vcpus.push_back(kvm::VcpuPowerOnState::capture(*vcpu));  // before the boot configuration
    std::vector<std::string> refused = vcpu->set_msrs(msrs);
    if (id == 0) {
      for (const std::string& name : refused) spdlog::debug("kvm: host refused boot MSR {}", name);
      vcpu->configure_bsp_lapic();
      vcpu->set_boot_registers(kvm::boot_registers(m.boot_entry));
      vcpu->set_mp_state(kvm::MpState::runnable);
    } else {
      // The in-kernel LAPIC starts APs on the guest's INIT/SIPI.
      vcpu->set_mp_state(kvm::MpState::uninitialized);
    }
    m.vcpus.push_back(std::move(vcpu));
  }
}

void setup_key_injection(Machine& m, const MachineConfig& config) {
  if (!config.key_injection) return;
  const KeyInjection& injection = *config.key_injection;
  std::vector<KeyCombo> combos = parse_key_combos(injection.keys);
  for (const KeyCombo& combo : combos) {
    for (const std::string& key : combo.keys) {
      if (!devices::I8042::is_known_key(key)) {
        throw ConfigError(fmt::format("unknown key '{}' in --send-keys (QEMU key names: a, 1, ret, spc, shift, ...)", key));
      }
    }
  }
  devices::I8042* keyboard = m.i8042.get();
  m.key_injector = std::make_unique<KeyInjector>(
      std::move(combos), [keyboard](std::string_view key, bool pressed) { return keyboard->inject_key(key, pressed); },
      std::chrono::milliseconds(20));
  if (injection.after_console_regex.empty()) return;  // run() triggers it at start
  m.key_trigger = std::make_unique<LineMatcher>(injection.after_console_regex);
  LineMatcher* trigger = m.key_trigger.get();
  KeyInjector* injector = m.key_injector.get();
  m.console->add_observer([trigger, injector](std::span<const std::byte> bytes) {
    if (trigger->feed(bytes)) injector->trigger();
  });
}

}  // namespace

std::unique_ptr<Machine> build_machine(const MachineConfig& config) {
  validate(config);
  auto m = std::make_unique<Machine>();
  // Before any thread exists, so every thread inherits the blocked mask.
  m->signals = std::make_unique<HostSignals>();
  install_vcpu_kick_handler();

  create_vm(*m, config);
  m->loop = std::make_unique<EventLoop>();
  m->interrupts = std::make_unique<kvm::KvmInterruptController>(*m->vm, *m->loop);
  m->doorbells = std::make_unique<kvm::KvmDoorbellRegistrar>(*m->vm);
  m->console_loop = std::make_unique<EventLoop>();
  m->console = console::Console::open(config.serial, *m->console_loop, m->control);
  setup_qmp(*m, config);  // the socket now: a bad path is a ConfigError before the guest runs
  m->pio_bus = std::make_unique<Bus>("pio");
  m->mmio_bus = std::make_unique<Bus>("mmio");
  add_devices(*m, config);
  setup_power_button(*m);  // system_powerdown and SIGPWR press the AcpiPm's button
  setup_system_reset(*m);  // QMP system_reset (machine_reset.h)
  setup_acpi_s3(*m);       // S3 suspend/wake, QMP system_wakeup (acpi_s3.h)
  setup_key_injection(*m, config);

  m->boot_entry = load_guest(*m, config);
  create_vcpus(*m, config);
  m->exit_stats = std::make_unique<ExitStats>(config.cpus);  // before any vCPU runs: the exit path never allocates
  return m;
}

}  // namespace keel::vmm
