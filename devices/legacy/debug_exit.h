// Debug-exit port, QEMU isa-debug-exit style (default port 0x501, 2 bytes).
// A guest write of value v (any width, anywhere in the range, as QEMU) stops
// the VM and keel exits with status v & 0xff. (QEMU exits with (v << 1) | 1
// instead; keel keeps v so that 0 means success.) Reads return 0, as QEMU.
#pragma once

#include <cstdint>
#include <span>

#include "keel/bus_device.h"
#include "keel/vm_control.h"

namespace keel::devices {

class DebugExit final : public BusDevice {
 public:
  static constexpr uint16_t kDefaultPort = 0x501;
  static constexpr uint64_t kPortCount = 2;

  explicit DebugExit(VmControl& vm) : vm_(vm) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;

 private:
  VmControl& vm_;
};

}  // namespace keel::devices
