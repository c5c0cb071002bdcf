// OBSOLETE: the FADT no longer describes this port (keel now has fixed ACPI
// hardware, devices/acpi/acpi_pm.h). It stays only until the machine builder
// stops inserting it; then delete this file, acpi_power.cc and
// tests/unit/devices/legacy/acpi_power_test.cc.
//
// The hardware-reduced ACPI power port:
// a write with SLP_EN (bit 5) and SLP_TYP (bits 4:2) == 5 powers off
// (VmControl guest_poweroff, exit status 0); a write of the RESET_REG value
// 0x01 resets (guest_reset). Reads return 0 (sleep status: never woke).
#pragma once

#include <cstdint>
#include <span>

#include "keel/bus_device.h"
#include "keel/vm_control.h"

namespace keel::devices {

class AcpiPowerPort final : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x3c0;
  explicit AcpiPowerPort(VmControl& vm) : vm_(vm) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;

 private:
  VmControl& vm_;
};

}  // namespace keel::devices
