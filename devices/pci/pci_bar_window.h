// Puts one BAR of a PciDevice on a Bus: the bus sees an ordinary BusDevice
// whose offsets are relative to the BAR, and forwards as (bar, offset). When
// the guest moves the BAR, the host bridge removes this window and inserts it
// again at the new address; the device never learns where it is.
#pragma once

#include <memory>

#include "devices/pci/pci_device.h"
#include "keel/bus_device.h"

namespace keel::devices {

class PciBarWindow final : public BusDevice {
 public:
  PciBarWindow(std::shared_ptr<PciDevice> device, uint8_t bar) noexcept : device_(std::move(device)), bar_(bar) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override { device_->bar_read(bar_, offset, data); }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override {
    device_->bar_write(bar_, offset, data);
  }

 private:
  std::shared_ptr<PciDevice> device_;
  uint8_t bar_;
};

}  // namespace keel::devices
