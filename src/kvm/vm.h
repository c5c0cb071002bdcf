// A KVM VM fd set up as a PC: TSS and identity-map pages, in-kernel 8259 +
// IOAPIC + LAPICs, PIT, the PC GSI routing, guest RAM as memory slots. Made
// by Kvm::create_vm().
#pragma once

#include <cstdint>
#include <memory>

#include "keel/guest_memory.h"
#include "keel/irq_line.h"
#include "src/kvm/unique_fd.h"

namespace keel::kvm {

class Kvm;
class Vcpu;
class GsiRouteTable;

// Where KVM keeps the VT-x real-mode TSS (3 pages) and identity-map page
// table, as QEMU places them: just below the BIOS ROM at the top of 4 GiB.
// The boot layer's E820 map must keep them reserved.
inline constexpr uint64_t kTssAddress = 0xFFFB'D000;
inline constexpr uint64_t kIdentityMapAddress = 0xFFFB'C000;

class Vm {
 public:
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;
  ~Vm();

  // KVM_SET_IDENTITY_MAP_ADDR (when the host has it), KVM_SET_TSS_ADDR,
  // KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2 (dummy speaker), and the first
  // commit of gsi_routes() (KVM_SET_GSI_ROUTING with the PC routes). Call
  // once, before any vCPU, interrupt controller or MSI vector is created.
  void setup_pc_platform();

  // One KVM_SET_USER_MEMORY_REGION slot per region. `memory` must outlive
  // the VM.
  void add_memory(const GuestMemory& memory);

  // An IrqLine that drives `gsi` with KVM_IRQ_LINE. The line keeps the VM fd
  // open, so it may outlive this object.
  std::shared_ptr<IrqLine> irq_line(uint32_t gsi);

  // KVM_CREATE_VCPU with `id` as vCPU and initial APIC ID, and its kvm_run
  // mapping.
  std::unique_ptr<Vcpu> create_vcpu(uint32_t id);

  int fd() const noexcept { return fd_->get(); }
  // The VM fd for objects that may outlive this Vm (lines, vectors,
  // doorbells): it is closed when the last holder lets go.
  std::shared_ptr<const UniqueFd> shared_fd() const noexcept { return fd_; }
  // The VM's one GSI routing table (PC irqchip routes + MSI routes), shared
  // with the MSI vectors of KvmInterruptController.
  std::shared_ptr<GsiRouteTable> gsi_routes() const noexcept { return routes_; }

 private:
  friend class Kvm;
  Vm(const Kvm& kvm, UniqueFd fd);

  std::shared_ptr<UniqueFd> fd_;
  std::shared_ptr<GsiRouteTable> routes_;
  size_t vcpu_mmap_size_;
  bool has_identity_map_addr_;
  uint32_t next_slot_ = 0;
};

}  // namespace keel::kvm
