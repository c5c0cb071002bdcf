#include "devices/pci/pci_intx.h"

namespace keel::devices {

void PciIntx::connect(std::shared_ptr<IrqLine> line) noexcept {
  std::lock_guard guard(lock_);
  line_ = std::move(line);
  line_level_ = false;
  drive();
}

void PciIntx::set_asserted(bool asserted) noexcept {
  std::lock_guard guard(lock_);
  asserted_ = asserted;
  config_.set_interrupt_status(asserted);
  drive();
}

bool PciIntx::asserted() const noexcept {
  std::lock_guard guard(lock_);
  return asserted_;
}

void PciIntx::config_written() noexcept {
  std::lock_guard guard(lock_);
  drive();
}

void PciIntx::drive() noexcept {
  // Only level changes reach the line: re-asserting a line that is still
  // high after an EOI is the line's job (its resample eventfd), not ours.
  const bool level = asserted_ && !config_.intx_disabled();
  if (!line_ || level == line_level_) return;
  line_level_ = level;
  line_->set_level(level);
}

}  // namespace keel::devices
