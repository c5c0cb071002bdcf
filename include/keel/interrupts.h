// The interrupt plane as devices see it: level lines for PCI INTx and MSI /
// MSI-X vectors, both backed by eventfds that KVM consumes (irqfd). The VMM
// core implements InterruptController over /dev/kvm (src/kvm); devices never
// issue ioctls, and nothing on the data path uses KVM_IRQ_LINE.
#pragma once

#include <cstdint>
#include <memory>

#include "keel/irq_line.h"

namespace keel {

// An MSI message (PCI Local Bus 3.0, 6.8.1.3-6.8.1.6): where the device
// writes (address, on x86 0xFEExxxxx naming the destination LAPIC) and what
// (data, carrying vector and delivery mode).
struct MsiMessage {
  uint64_t address = 0;
  uint32_t data = 0;
  friend bool operator==(const MsiMessage&, const MsiMessage&) = default;
};

// One MSI or MSI-X vector: an eventfd bound (KVM_IRQFD) to a GSI of its own
// whose routing entry is an MSI route.
class MsiVector {
 public:
  virtual ~MsiVector() = default;
  // Point the vector at `message`. The routing change is staged, not sent:
  // every staged change is committed with one KVM_SET_GSI_ROUTING, at the
  // latest before the next trigger() of any vector, so a guest reprogramming
  // many table entries costs one ioctl. Any thread.
  virtual void set_message(const MsiMessage& message) noexcept = 0;
  // Deliver one interrupt to the current message (an eventfd write). A
  // vector that never got a message drops the trigger. Any thread.
  virtual void trigger() noexcept = 0;
  // The eventfd KVM listens on, for sources that signal it directly (VFIO).
  virtual int eventfd() const noexcept = 0;
};

class InterruptController {
 public:
  virtual ~InterruptController() = default;
  // A level-triggered line on IOAPIC input `gsi` (PCI INTx): an irqfd with a
  // resample eventfd, so a line still high when the guest EOIs fires again.
  // Start-up only; throws ConfigError / std::system_error on host failure.
  virtual std::shared_ptr<IrqLine> level_line(uint32_t gsi) = 0;
  // A new MSI vector on a GSI of its own. Start-up only; throws ConfigError
  // when KVM's routing table is full.
  virtual std::unique_ptr<MsiVector> create_msi_vector() = 0;
};

}  // namespace keel
