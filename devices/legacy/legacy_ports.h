// Small PC ports that BIOSes and Linux touch, handled like QEMU's pc machine:
//  - 0x80 POST code / I/O delay: writes ignored, reads 0xff (QEMU ioport80)
//  - 0x92 System Control Port A: bit 1 A20 gate (kept, always enabled in
//    effect), bit 0 fast reset (0 -> 1) -> VmControl guest_reset
//  - 0xCF9 reset control (PIIX): a write with bit 2 (RCPU) set, e.g. 0x06 or
//    0x0E, resets -> guest_reset; bit 1 (SRST) is kept and read back
// Each is a one-byte port: insert it with length 1. Resets exit with status 0.
// (PIC 0x20/0xA0, ELCR 0x4d0/0x4d1, PIT 0x40-0x43 and port 0x61 are handled by
// KVM's in-kernel irqchip and PIT.)
#pragma once

#include <cstdint>
#include <mutex>
#include <span>

#include "keel/bus_device.h"
#include "keel/vm_control.h"

namespace keel::devices {

class PostCodePort final : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x80;
  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;
};

class SystemControlPortA final : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x92;
  explicit SystemControlPortA(VmControl& vm) : vm_(vm) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;

 private:
  VmControl& vm_;
  std::mutex lock_;
  uint8_t value_ = 0x02;  // A20 enabled at power-on, as QEMU
};

class ResetControlPort final : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0xCF9;
  explicit ResetControlPort(VmControl& vm) : vm_(vm) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;

 private:
  VmControl& vm_;
  std::mutex lock_;
  uint8_t value_ = 0;
};

}  // namespace keel::devices
