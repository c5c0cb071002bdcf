// IrqLine backed by KVM_IRQ_LINE on one GSI of the in-kernel irqchip. The
// only place keel raises interrupts by ioctl (later work moves devices to
// irqfd).
#pragma once

#include <cstdint>
#include <memory>

#include "keel/irq_line.h"
#include "src/kvm/unique_fd.h"

namespace keel::kvm {

class KvmIrqLine final : public IrqLine {
 public:
  KvmIrqLine(std::shared_ptr<const UniqueFd> vm_fd, uint32_t gsi) : vm_fd_(std::move(vm_fd)), gsi_(gsi) {}
  // Failures (which only a host problem causes) are logged, rate-limited.
  void set_level(bool high) noexcept override;
  uint32_t gsi() const noexcept { return gsi_; }

 private:
  std::shared_ptr<const UniqueFd> vm_fd_;
  uint32_t gsi_;
};

}  // namespace keel::kvm
