// A PCI function for tests: a config space with the BARs a test asks for,
// and BAR accesses recorded (reads return the bar number in every byte), as
// are the bridge's bars_changed() reports and the INTx line it connects.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "devices/pci/pci_config_space.h"

namespace keel::testing {

class TestPciDevice final : public devices::PciDevice {
 public:
  struct Access {
    uint8_t bar;
    uint64_t offset;
    size_t size;
    bool write;
  };
  explicit TestPciDevice(std::initializer_list<std::pair<uint8_t, devices::PciBarInfo>> bars,
                         uint8_t interrupt_pin = 1)
      : config_(devices::PciIdentity{.vendor_id = 0x1234, .device_id = 0x5678, .revision = 1,
                                     .class_code = 0xFF0000, .interrupt_pin = interrupt_pin}) {
    for (const auto& [index, info] : bars) config_.add_bar(index, info);
  }
  void config_read(uint16_t offset, std::span<std::byte> data) noexcept override { config_.read(offset, data); }
  void config_write(uint16_t offset, std::span<const std::byte> data) noexcept override {
    config_.write(offset, data);
  }
  void bar_read(uint8_t bar, uint64_t offset, std::span<std::byte> data) noexcept override {
    std::lock_guard guard(lock_);
    accesses.push_back({bar, offset, data.size(), false});
    for (std::byte& b : data) b = std::byte{bar};
  }
  void bar_write(uint8_t bar, uint64_t offset, std::span<const std::byte> data) noexcept override {
    std::lock_guard guard(lock_);
    accesses.push_back({bar, offset, data.size(), true});
  }
  std::array<devices::PciBarInfo, devices::kPciBarCount> bar_layout() const noexcept override {
    return config_.bar_layout();
  }
  devices::PciBarRegions decoded_bars() const noexcept override { return config_.decoded_bars(); }
  void bars_changed(const devices::PciBarRegions& decoded) noexcept override { bar_reports.push_back(decoded); }
  void reset() noexcept override {
    config_.reset();
    ++resets;
  }
  void connect_intx(std::shared_ptr<IrqLine> line) noexcept override {
    ++intx_connects;
    intx = std::move(line);
  }

  devices::PciConfigSpace& config() { return config_; }
  std::vector<Access> accesses;
  std::vector<devices::PciBarRegions> bar_reports;
  std::shared_ptr<IrqLine> intx;
  int intx_connects = 0;
  int resets = 0;

 private:
  std::mutex lock_;
  devices::PciConfigSpace config_;
};

}  // namespace keel::testing
