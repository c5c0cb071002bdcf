// An interrupt line as a device sees it. The machine backs it with the
// in-kernel irqchip; devices never issue ioctls themselves.
#pragma once

namespace keel {

class IrqLine {
 public:
  virtual ~IrqLine() = default;
  // Drive the line's level. ISA lines are edge-triggered at the IOAPIC/PIC, so
  // a 0->1 transition is what delivers an interrupt.
  virtual void set_level(bool high) noexcept = 0;
  void pulse() noexcept {
    set_level(true);
    set_level(false);
  }
};

}  // namespace keel
