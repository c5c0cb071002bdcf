// A function's INTx# pin (PCI Local Bus 3.0, 2.2.6 and 6.2.2-6.2.3): the
// device says whether its interrupt condition holds; the pin drives the
// level line the host bridge connected (PciDevice::connect_intx) at
// `asserted && !Interrupt Disable`, and Status bit 3 shows the condition.
// A device embeds one next to its PciConfigSpace, forwards connect_intx()
// and calls config_written() after every guest config write, since the
// guest may flip Interrupt Disable (Command bit 10) while the pin is
// asserted. MSI/MSI-X owners keep the pin deasserted while those are on.
#pragma once

#include <memory>
#include <mutex>

#include "devices/pci/pci_config_space.h"
#include "keel/irq_line.h"

namespace keel::devices {

class PciIntx {
 public:
  explicit PciIntx(PciConfigSpace& config) noexcept : config_(config) {}

  // Start-up: the line from connect_intx(). Without one the pin only
  // updates Status bit 3.
  void connect(std::shared_ptr<IrqLine> line) noexcept;
  // The device's interrupt condition. Any thread.
  void set_asserted(bool asserted) noexcept;
  bool asserted() const noexcept;
  // Re-evaluates the line after a config write (Interrupt Disable).
  void config_written() noexcept;
  // Device reset: condition false, line low.
  void reset() noexcept { set_asserted(false); }

 private:
  void drive() noexcept;  // with lock_ held

  PciConfigSpace& config_;
  mutable std::mutex lock_;
  std::shared_ptr<IrqLine> line_;
  bool asserted_ = false;
  bool line_level_ = false;  // what the line was last set to
};

}  // namespace keel::devices
