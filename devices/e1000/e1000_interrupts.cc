// Interrupt causes and INTA# (manual 13.4.17-13.4.21): the line is high
// while ICR & IMS != 0 (a level interrupt; PciIntx and the line's resample
// re-assert it after an EOI while that holds). ITR (13.4.18) throttles the
// rising edge: INTA# rises at most once per ITR x 256 ns, a rise that comes
// sooner waits for a timer; lowering is never delayed. The receive timer interrupt RXT0 is raised at once when RDTR is
// 0, else RDTR (1.024 us units) after the last frame, capped by RADV after
// the first one (13.4.30, 13.4.32).
#include <chrono>

#include "devices/e1000/e1000.h"
#include "devices/e1000/e1000_regs.h"

namespace keel::devices {

using namespace e1000;

namespace {
std::chrono::nanoseconds delay_units(uint32_t units) noexcept { return std::chrono::nanoseconds(uint64_t{units} * 1024); }
}  // namespace

void E1000::set_cause(uint32_t causes) noexcept {
  reg(reg::kIcr) |= causes;
  update_intx();
}

void E1000::update_intx() noexcept {
  if ((reg(reg::kIcr) & reg(reg::kIms)) == 0) {
    intx_.set_asserted(false);
    return;
  }
  if (intx_.asserted() || itr_armed_) return;  // already high, or a rise is scheduled
  const uint32_t interval = reg(reg::kItr) & 0xFFFF;
  if (interval != 0) {
    const auto now = clock_.monotonic();
    const auto earliest = last_interrupt_ + std::chrono::nanoseconds(uint64_t{interval} * 256);
    if (now < earliest) {
      itr_timer_->arm(earliest);
      itr_armed_ = true;
      return;
    }
    last_interrupt_ = now;
  }
  intx_.set_asserted(true);
}

void E1000::itr_timer_expired() noexcept {
  std::lock_guard guard(lock_);
  if (!itr_armed_) return;  // a reset came first
  itr_armed_ = false;
  update_intx();
}

void E1000::receive_done() noexcept {
  const uint32_t delay = reg(reg::kRdtr) & 0xFFFF;
  if (delay == 0) {
    fire_rxt0();
    return;
  }
  const auto now = clock_.monotonic();
  rx_delay_timer_->arm(now + delay_units(delay));
  rx_delay_armed_ = true;
  const uint32_t absolute = reg(reg::kRadv) & 0xFFFF;
  if (absolute != 0 && !rx_absolute_armed_) {
    rx_absolute_timer_->arm(now + delay_units(absolute));
    rx_absolute_armed_ = true;
  }
}

void E1000::rx_timer_expired() noexcept {
  std::lock_guard guard(lock_);
  // A timer that fired after a reset or after the other timer already
  // reported the frames has nothing to say.
  if (!rx_delay_armed_ && !rx_absolute_armed_) return;
  fire_rxt0();
}

void E1000::fire_rxt0() noexcept {
  disarm_rx_timers();
  set_cause(irq::kRxt0);
}

void E1000::disarm_rx_timers() noexcept {
  if (rx_delay_armed_ && rx_delay_timer_) rx_delay_timer_->disarm();
  if (rx_absolute_armed_ && rx_absolute_timer_) rx_absolute_timer_->disarm();
  rx_delay_armed_ = false;
  rx_absolute_armed_ = false;
}

}  // namespace keel::devices
