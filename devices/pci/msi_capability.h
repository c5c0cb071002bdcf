// MSI (PCI Local Bus 3.0, 6.8.1): the capability structure in config space
// for one vector, with a 64-bit message address and per-vector masking
// (Multiple Message Capable = 0, 64 bit address capable, per-vector
// masking capable), delivered through one MsiVector. A PCI device embeds
// one next to its PciConfigSpace, calls config_written() after forwarding
// guest config writes, overlay_read() after config reads (the Pending Bits
// register lives here, not in the config bytes, so notify() can run on
// any thread), and notify().
//
// Delivery rules as MsixCapability: a message is sent only while MSI Enable
// is set and the vector's Mask bit is clear; otherwise notify() sets the
// pending bit and the message goes out (once) when that changes. The route
// is updated (staged, see MsiVector) whenever the unmasked vector's message
// differs from the last one routed, so writes done while masked cost none.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "devices/pci/pci_config_space.h"
#include "keel/interrupts.h"

namespace keel::devices {

class MsiCapability {
 public:
  static constexpr uint8_t kCapabilityId = 0x05;
  // Register offsets inside the capability (64-bit, per-vector masking).
  static constexpr uint16_t kControl = 0x02;
  static constexpr uint16_t kAddressLow = 0x04;
  static constexpr uint16_t kAddressHigh = 0x08;
  static constexpr uint16_t kData = 0x0C;
  static constexpr uint16_t kMaskBits = 0x10;
  static constexpr uint16_t kPendingBits = 0x14;
  static constexpr uint16_t kSize = 0x18;
  // Message Control bits.
  static constexpr uint16_t kControlEnable = 1u << 0;
  static constexpr uint16_t kControl64Bit = 1u << 7;
  static constexpr uint16_t kControlPerVectorMasking = 1u << 8;

  // Adds the capability to `config` and creates its vector. Throws
  // ConfigError when config space is full.
  MsiCapability(PciConfigSpace& config, InterruptController& interrupts);

  uint16_t capability_offset() const noexcept { return cap_offset_; }

  // After the owner forwarded a guest config write of `length` bytes at
  // `offset` to `config` (any write: it checks the overlap itself).
  void config_written(uint16_t offset, size_t length) noexcept;
  // After the owner read `data` at `offset` from `config`: fills in the
  // Pending Bits register where the read covers it.
  void overlay_read(uint16_t offset, std::span<std::byte> data) const noexcept;

  bool enabled() const noexcept;
  bool pending() const noexcept;
  // Raise the vector (deliver or set pending). Only vector 0 exists;
  // others are ignored. Any thread.
  void notify(uint16_t vector = 0) noexcept;
  // Device reset: Enable clear, message and mask zero (6.8.1: the reset
  // value of the Mask Bits is 0), nothing pending.
  void reset() noexcept;

 private:
  void settle() noexcept;  // with lock_ held, as MsixCapability::settle

  PciConfigSpace& config_;
  uint16_t cap_offset_ = 0;
  std::unique_ptr<MsiVector> vector_;
  mutable std::mutex lock_;  // guards the cached state below
  bool enable_ = false;
  bool masked_ = false;
  bool pending_ = false;
  MsiMessage message_;
  std::optional<MsiMessage> routed_;
};

}  // namespace keel::devices
