// The PCI host bridge of keel's `pc` machine: bus 0, the bridge itself at
// 00:00.0 (i440FX IDs 8086:1237 like QEMU's pc, class 0x0600), devices in
// slots 1..31, single-function. Guests reach configuration space through
// mechanism #1 (0xCF8/0xCFC) and through a 1 MiB ECAM window (bus 0). The
// bridge places each device's BARs on the PIO/MMIO buses and moves them when
// the guest reprograms a BAR or toggles decode in the command register.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "devices/pci/pci_device.h"
#include "devices/pci/pci_layout.h"
#include "keel/bus.h"
#include "keel/bus_device.h"
#include "keel/interrupts.h"
#include "keel/resettable.h"

namespace keel::devices {

class PciHostBridge : public std::enable_shared_from_this<PciHostBridge>, public Resettable {
 public:
  static constexpr uint16_t kVendorId = 0x8086;  // Intel
  static constexpr uint16_t kDeviceId = 0x1237;  // 82441FX (i440FX) PMC
  static constexpr uint32_t kClassCode = 0x06'00'00;  // bridge, host bridge

  // `reset_port` receives the byte accesses at 0xCF9 (PIIX reset control),
  // which lies inside the CONFIG_ADDRESS dword; it may be null.
  // `interrupts` provides the level lines for INTx (see add_device); it may
  // be null (no INTx wiring) and must outlive the bridge otherwise.
  static std::shared_ptr<PciHostBridge> create(Bus& pio, Bus& mmio, std::shared_ptr<BusDevice> reset_port,
                                               InterruptController* interrupts = nullptr);

  // Puts 0xCF8-0xCFF on the PIO bus and the ECAM window on the MMIO bus.
  // Throws ConfigError on overlap.
  void install();

  // Start-up: puts `device` in the next free slot, assigns its BARs from the
  // MMIO hole / I/O window (keel has no firmware to do it) and turns decode
  // on, so guests without a PCI enumerator see working devices. A device
  // with an Interrupt Pin gets its INTx wired to IOAPIC input
  // pci_layout::intx_gsi(slot, pin): that number goes into its Interrupt
  // Line register (what a BIOS would do; guests without ACPI read it there)
  // and the line from InterruptController::level_line() to connect_intx().
  // Finally the device gets bars_changed() with its decoding BARs. Returns
  // the slot. Throws ConfigError when the bus or a window is full.
  uint8_t add_device(std::shared_ptr<PciDevice> device);

  // Machine reset: CONFIG_ADDRESS to 0, then every function (the bridge's
  // own included) gets PciDevice::reset() and the BAR addresses, Interrupt
  // Line and Command decode bits add_device() gave it (keel has no firmware
  // to program them again); the BAR windows on the buses follow.
  void reset() noexcept override;
  // Configuration access to bus 0, used by both mechanisms. Absent slots and
  // functions other than 0 read all-ones and ignore writes.
  void config_read(uint8_t slot, uint8_t function, uint16_t offset, std::span<std::byte> data) noexcept;
  void config_write(uint8_t slot, uint8_t function, uint16_t offset, std::span<const std::byte> data) noexcept;

  // The function in `slot` (function 0), or null for an empty or invalid
  // slot: for the control plane's query-pci (BAR layout and decode state).
  std::shared_ptr<PciDevice> device_at(uint8_t slot);

  // The BusDevices behind 0xCF8 (length 8) and the ECAM window, for install()
  // and for tests.
  std::shared_ptr<BusDevice> config_ports() { return config_ports_; }
  std::shared_ptr<BusDevice> ecam_window() { return ecam_; }

  // Mechanism #1 register file, offsets relative to 0xCF8.
  void port_read(uint64_t offset, std::span<std::byte> data) noexcept;
  void port_write(uint64_t offset, std::span<const std::byte> data) noexcept;

 private:
  struct Mapped {
    bool io;
    uint64_t address;
  };
  struct Slot {
    std::shared_ptr<PciDevice> device;
    std::array<std::shared_ptr<BusDevice>, kPciBarCount> windows;
    std::array<std::optional<Mapped>, kPciBarCount> mapped;
    // What bars_changed() last told the device; nullopt until add_device()
    // finished (no reports about a half-added device).
    std::optional<PciBarRegions> reported;
    // What add_device() left in the BARs, Command and Interrupt Line: a
    // reset programs them again.
    struct PowerOn {
      std::array<uint32_t, kPciBarCount> bars{};
      uint16_t command = 0;
      uint8_t interrupt_line = 0;
    } power_on;
  };

  PciHostBridge(Bus& pio, Bus& mmio, std::shared_ptr<BusDevice> reset_port, InterruptController* interrupts);
  void attach(uint8_t slot, std::shared_ptr<PciDevice> device);
  void assign_bars(uint8_t slot);
  void wire_intx(uint8_t slot);
  void record_power_on(Slot& slot) noexcept;
  // Brings the buses in line with what the device's BARs and command
  // register say now, then reports a change with bars_changed(). Called
  // with lock_ held.
  void update_bar_mappings(Slot& slot) noexcept;
  // Calls bars_changed() with the BARs mapped now if that differs from the
  // last report (or there was none yet). Called with lock_ held.
  void report_bars(Slot& slot) noexcept;
  void log_guest(const char* what, uint64_t a, uint64_t b) noexcept;

  Bus& pio_;
  Bus& mmio_;
  std::shared_ptr<BusDevice> reset_port_;
  InterruptController* interrupts_;
  std::shared_ptr<BusDevice> config_ports_;
  std::shared_ptr<BusDevice> ecam_;

  std::mutex lock_;  // serializes config accesses and bus moves
  uint32_t config_address_ = 0;
  std::array<Slot, pci_layout::kSlotCount> slots_{};
  uint64_t next_mmio_ = pci_layout::kMmioWindowStart;
  uint64_t next_io_ = pci_layout::kIoAllocationStart;
  // Rate limit for guest-triggered log lines.
  std::chrono::steady_clock::time_point log_window_{};
  uint32_t log_lines_ = 0;
};

}  // namespace keel::devices
