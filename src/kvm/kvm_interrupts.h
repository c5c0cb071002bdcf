// keel::InterruptController over KVM irqfds: PCI INTx as a level line on an
// IOAPIC GSI (irqfd + resample eventfd), MSI/MSI-X as one GSI per vector
// with an MSI route in the VM's GsiRouteTable. Devices only write eventfds;
// nothing here issues KVM_IRQ_LINE.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "keel/fd_poller.h"
#include "keel/interrupts.h"
#include "src/kvm/unique_fd.h"

namespace keel::kvm {

class GsiRouteTable;
class Vm;

// A level-triggered line (PCI 3.0, 2.2.6: INTx# is level-sensitive, shared)
// as KVM models it: set_level(true) writes an irqfd registered with
// KVM_IRQFD_FLAG_RESAMPLE, which asserts the GSI until the guest EOIs it.
// KVM then deasserts it and signals the resample eventfd; the handler (on
// the FdPoller's thread) asserts it again while the device still holds the
// line high. set_level(false) only records the level: the line drops at the
// next EOI, as in QEMU and crosvm. Several lines may share a GSI (KVM ORs
// them and signals every resample eventfd of the GSI on EOI).
class KvmLevelLine final : public IrqLine {
 public:
  // KVM_IRQFD assign and poller.add of the resample eventfd. `poller` must
  // outlive the line. Throws HostError.
  KvmLevelLine(std::shared_ptr<const UniqueFd> vm_fd, uint32_t gsi, FdPoller& poller);
  // Removes the resample handler, then deassigns the irqfd.
  ~KvmLevelLine() override;
  KvmLevelLine(const KvmLevelLine&) = delete;
  KvmLevelLine& operator=(const KvmLevelLine&) = delete;

  // Any thread. Host failures are logged, rate-limited.
  void set_level(bool high) noexcept override;

  uint32_t gsi() const noexcept { return gsi_; }
  bool level() const noexcept { return level_.load(std::memory_order_acquire); }
  // For tests and diagnostics.
  int irqfd() const noexcept { return irqfd_.get(); }
  int resamplefd() const noexcept { return resamplefd_.get(); }

 private:
  void resampled() noexcept;
  void assert_line() noexcept;

  std::shared_ptr<const UniqueFd> vm_fd_;
  const uint32_t gsi_;
  FdPoller& poller_;
  UniqueFd irqfd_;
  UniqueFd resamplefd_;
  std::atomic<bool> level_{false};
};

// An MSI / MSI-X vector: an eventfd bound by KVM_IRQFD to a GSI of its own.
// set_message stages the GSI's MSI route; trigger() commits the staged
// routes (if any) and writes the eventfd, which KVM turns into the MSI
// write (PCI 3.0, 6.8.1.3-6.8.1.6 for address and data).
class KvmMsiVector final : public MsiVector {
 public:
  // Allocates a GSI (ConfigError when the table is full) and binds the
  // eventfd to it (HostError).
  KvmMsiVector(std::shared_ptr<const UniqueFd> vm_fd, std::shared_ptr<GsiRouteTable> routes);
  // Deassigns the irqfd and releases the GSI (its route goes at the next
  // commit).
  ~KvmMsiVector() override;
  KvmMsiVector(const KvmMsiVector&) = delete;
  KvmMsiVector& operator=(const KvmMsiVector&) = delete;

  void set_message(const MsiMessage& message) noexcept override;
  void trigger() noexcept override;
  int eventfd() const noexcept override { return eventfd_.get(); }

  uint32_t gsi() const noexcept { return gsi_; }

 private:
  std::shared_ptr<const UniqueFd> vm_fd_;
  std::shared_ptr<GsiRouteTable> routes_;
  const uint32_t gsi_;
  UniqueFd eventfd_;
  std::atomic<bool> has_message_{false};
};

class KvmInterruptController final : public InterruptController {
 public:
  // `vm` must have run setup_pc_platform() (KVM_IRQFD needs the in-kernel
  // irqchip). `poller` runs the resample handlers and must outlive every
  // level line handed out. Lines and vectors keep the VM fd and routing
  // table alive, so they may outlive `vm` and this controller.
  KvmInterruptController(const Vm& vm, FdPoller& poller);

  // `gsi` must be an IOAPIC input (< 24): ConfigError otherwise. HostError
  // when KVM refuses the irqfd.
  std::shared_ptr<IrqLine> level_line(uint32_t gsi) override;
  std::unique_ptr<MsiVector> create_msi_vector() override;

 private:
  std::shared_ptr<const UniqueFd> vm_fd_;
  std::shared_ptr<GsiRouteTable> routes_;
  FdPoller& poller_;
};

}  // namespace keel::kvm
