#include "src/kvm/vm.h"

#include "src/kvm/linux_kvm.h"
#include <sys/mman.h>

#include <spdlog/spdlog.h>

#include "src/kvm/gsi_route_table.h"
#include "src/kvm/gsi_routing.h"
#include "src/kvm/ioctl.h"
#include "src/kvm/kvm_gsi_route_sink.h"
#include "src/kvm/kvm_irq_line.h"
#include "src/kvm/kvm_system.h"
#include "src/kvm/vcpu.h"

namespace keel::kvm {

static_assert(static_cast<uint32_t>(IrqChip::pic_master) == KVM_IRQCHIP_PIC_MASTER);
static_assert(static_cast<uint32_t>(IrqChip::pic_slave) == KVM_IRQCHIP_PIC_SLAVE);
static_assert(static_cast<uint32_t>(IrqChip::ioapic) == KVM_IRQCHIP_IOAPIC);

Vm::Vm(const Kvm& kvm, UniqueFd fd)
    : fd_(std::make_shared<UniqueFd>(std::move(fd))),
      routes_(std::make_shared<GsiRouteTable>(std::make_unique<KvmGsiRouteSink>(fd_), pc_gsi_routes())),
      vcpu_mmap_size_(kvm.vcpu_mmap_size()),
      has_identity_map_addr_(kvm.check_extension(KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {}

Vm::~Vm() = default;

void Vm::setup_pc_platform() {
  if (has_identity_map_addr_) {
    uint64_t identity_map = kIdentityMapAddress;
    KEEL_IOCTL(fd(), KVM_SET_IDENTITY_MAP_ADDR, &identity_map);
  }
  KEEL_IOCTL(fd(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(kTssAddress));
  KEEL_IOCTL(fd(), KVM_CREATE_IRQCHIP, 0);

  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;  // port 0x61 speaker bits without a real speaker
  KEEL_IOCTL(fd(), KVM_CREATE_PIT2, &pit);

  // The PC routes (and any MSI routes staged already) as one table.
  if (int error = routes_->commit(); error != 0) throw_host_error("KVM_SET_GSI_ROUTING", error);
}

void Vm::add_memory(const GuestMemory& memory) {
  for (const MemoryRegion& region : memory.regions()) {
    kvm_userspace_memory_region slot{};
    slot.slot = next_slot_++;
    slot.guest_phys_addr = raw(region.guest_base);
    slot.memory_size = region.size;
    slot.userspace_addr = reinterpret_cast<uint64_t>(region.host);
    KEEL_IOCTL(fd(), KVM_SET_USER_MEMORY_REGION, &slot);
    spdlog::debug("kvm: memory slot {}: gpa {:#x} size {:#x}", slot.slot, slot.guest_phys_addr, slot.memory_size);
  }
}

std::shared_ptr<IrqLine> Vm::irq_line(uint32_t gsi) { return std::make_shared<KvmIrqLine>(fd_, gsi); }

std::unique_ptr<Vcpu> Vm::create_vcpu(uint32_t id) {
  int vcpu_fd = KEEL_IOCTL(fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
  UniqueFd owned(vcpu_fd);
  void* mapping = ::mmap(nullptr, vcpu_mmap_size_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
  if (mapping == MAP_FAILED) throw_host_error("mmap of kvm_run", errno);
  return std::unique_ptr<Vcpu>(new Vcpu(id, std::move(owned), mapping, vcpu_mmap_size_));
}

}  // namespace keel::kvm
