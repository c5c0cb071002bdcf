#include "src/kvm/vcpu.h"

#include "src/kvm/linux_kvm.h"
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "src/kvm/ioctl.h"
#include "src/kvm/lapic.h"

namespace keel::kvm {

static_assert(kCpuidSignificantIndex == KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
static_assert(kLapicRegisterPageSize == KVM_APIC_REG_SIZE);
static_assert(static_cast<uint32_t>(exit::SystemEventType::shutdown) == KVM_SYSTEM_EVENT_SHUTDOWN);
static_assert(static_cast<uint32_t>(exit::SystemEventType::reset) == KVM_SYSTEM_EVENT_RESET);
static_assert(static_cast<uint32_t>(exit::SystemEventType::crash) == KVM_SYSTEM_EVENT_CRASH);

namespace {

kvm_segment to_kvm(const SegmentState& s) {
  kvm_segment seg{};
  seg.base = s.base;
  seg.limit = s.limit;
  seg.selector = s.selector;
  seg.type = s.type;
  seg.present = s.present;
  seg.dpl = s.dpl;
  seg.db = s.db;
  seg.s = s.s;
  seg.l = s.l;
  seg.g = s.g;
  return seg;
}

SegmentSnapshot from_kvm(const kvm_segment& s) {
  return SegmentSnapshot{.selector = s.selector,
                         .base = s.base,
                         .limit = s.limit,
                         .type = s.type,
                         .present = s.present != 0,
                         .long_mode = s.l != 0,
                         .db = s.db != 0};
}

}  // namespace

const char* internal_error_name(uint32_t suberror) noexcept {
  switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION:
      return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
      return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
      return "event delivery failed";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
      return "unexpected exit reason";
    default:
      return "unknown suberror";
  }
}

Vcpu::Vcpu(uint32_t id, UniqueFd fd, void* run_mapping, size_t mapping_size)
    : id_(id), fd_(std::move(fd)), run_(static_cast<kvm_run*>(run_mapping)), mapping_size_(mapping_size) {}

Vcpu::~Vcpu() { ::munmap(run_, mapping_size_); }

void Vcpu::set_cpuid(std::span<const CpuidEntry> entries) {
  std::vector<std::byte> buffer(sizeof(kvm_cpuid2) + entries.size() * sizeof(kvm_cpuid_entry2));
  auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buffer.data());
  cpuid->nent = static_cast<uint32_t>(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    kvm_cpuid_entry2& e = cpuid->entries[i];
    e.function = entries[i].function;
    e.index = entries[i].index;
    e.flags = entries[i].flags;
    e.eax = entries[i].eax;
    e.ebx = entries[i].ebx;
    e.ecx = entries[i].ecx;
    e.edx = entries[i].edx;
  }
  KEEL_IOCTL(fd_.get(), KVM_SET_CPUID2, cpuid);
}

std::vector<std::string> Vcpu::set_msrs(std::span<const MsrValue> msrs) {
  std::vector<std::string> refused;
  std::vector<MsrValue> pending(msrs.begin(), msrs.end());
  while (!pending.empty()) {
    std::vector<std::byte> buffer(sizeof(kvm_msrs) + pending.size() * sizeof(kvm_msr_entry));
    auto* list = reinterpret_cast<kvm_msrs*>(buffer.data());
    list->nmsrs = static_cast<uint32_t>(pending.size());
    for (size_t i = 0; i < pending.size(); ++i) {
      list->entries[i].index = pending[i].index;
      list->entries[i].data = pending[i].value;
    }
    auto accepted = static_cast<size_t>(KEEL_IOCTL(fd_.get(), KVM_SET_MSRS, list));
    if (accepted >= pending.size()) break;
    refused.emplace_back(pending[accepted].name);
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(accepted) + 1);
  }
  return refused;
}

void Vcpu::configure_bsp_lapic() {
  kvm_lapic_state lapic{};
  KEEL_IOCTL(fd_.get(), KVM_GET_LAPIC, &lapic);
  std::span<std::byte, kLapicRegisterPageSize> page(reinterpret_cast<std::byte*>(lapic.regs), kLapicRegisterPageSize);
  configure_bsp_lint(page);
  KEEL_IOCTL(fd_.get(), KVM_SET_LAPIC, &lapic);
}

void Vcpu::set_boot_registers(const BootRegisters& boot) {
  kvm_sregs sregs{};
  KEEL_IOCTL(fd_.get(), KVM_GET_SREGS, &sregs);
  sregs.cs = to_kvm(boot.code);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = to_kvm(boot.data);
  if (boot.gdt_limit != 0) {
    sregs.gdt.base = boot.gdt_base;
    sregs.gdt.limit = boot.gdt_limit;
  }
  sregs.cr0 = boot.cr0;
  sregs.cr3 = boot.cr3;
  sregs.cr4 = boot.cr4;
  sregs.efer = boot.efer;
  KEEL_IOCTL(fd_.get(), KVM_SET_SREGS, &sregs);

  kvm_regs regs{};
  regs.rip = boot.rip;
  regs.rsp = boot.rsp;
  regs.rsi = boot.rsi;
  regs.rax = boot.rax;
  regs.rbx = boot.rbx;
  regs.rflags = boot.rflags;
  KEEL_IOCTL(fd_.get(), KVM_SET_REGS, &regs);
}

void Vcpu::set_mp_state(MpState state) {
  kvm_mp_state mp{};
  mp.mp_state = state == MpState::runnable ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
  KEEL_IOCTL(fd_.get(), KVM_SET_MP_STATE, &mp);
}

void Vcpu::request_immediate_exit() noexcept { __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST); }

void Vcpu::clear_immediate_exit() noexcept { __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST); }

VcpuExit Vcpu::run() noexcept {
  if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
    if (errno == EINTR || errno == EAGAIN) return exit::Interrupted{};
    return exit::RunFailed{errno};
  }
  return decode_exit();
}

VcpuExit Vcpu::decode_exit() noexcept {
  auto* base = reinterpret_cast<std::byte*>(run_);
  switch (run_->exit_reason) {
    case KVM_EXIT_IO: {
      const auto& io = run_->io;
      uint64_t bytes = uint64_t{io.size} * io.count;
      bool size_ok = io.size == 1 || io.size == 2 || io.size == 4;
      // The kernel places the data inside the mapping; check anyway rather
      // than form a pointer past it.
      if (!size_ok || io.count == 0 || io.data_offset > mapping_size_ || bytes > mapping_size_ - io.data_offset) {
        return exit::Unknown{KVM_EXIT_IO};
      }
      return exit::Io{.port = io.port,
                      .size = io.size,
                      .is_write = io.direction == KVM_EXIT_IO_OUT,
                      .count = io.count,
                      .data = std::span<std::byte>(base + io.data_offset, bytes)};
    }
    case KVM_EXIT_MMIO: {
      auto& mmio = run_->mmio;
      if (mmio.len == 0 || mmio.len > sizeof mmio.data) return exit::Unknown{KVM_EXIT_MMIO};
      return exit::Mmio{.address = mmio.phys_addr,
                        .is_write = mmio.is_write != 0,
                        .data = std::as_writable_bytes(std::span<uint8_t>(mmio.data, mmio.len))};
    }
    case KVM_EXIT_SHUTDOWN:
      return exit::Shutdown{};
    case KVM_EXIT_SYSTEM_EVENT:
      return exit::SystemEvent{run_->system_event.type};
    case KVM_EXIT_INTERNAL_ERROR: {
      exit::InternalError error{.suberror = run_->internal.suberror, .ndata = 0, .data = {}};
      uint32_t n = run_->internal.ndata;
      if (n > error.data.size()) n = static_cast<uint32_t>(error.data.size());
      for (uint32_t i = 0; i < n; ++i) error.data[i] = run_->internal.data[i];
      error.ndata = n;
      return error;
    }
    case KVM_EXIT_FAIL_ENTRY:
      return exit::FailEntry{.reason = run_->fail_entry.hardware_entry_failure_reason, .cpu = run_->fail_entry.cpu};
    case KVM_EXIT_HLT:
      return exit::Hlt{};
    case KVM_EXIT_INTR:
      return exit::Interrupted{};
    default:
      return exit::Unknown{run_->exit_reason};
  }
}

bool Vcpu::snapshot_registers(RegisterSnapshot& out) const noexcept {
  kvm_regs regs{};
  kvm_sregs sregs{};
  if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) return false;
  if (::ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) return false;
  out.rax = regs.rax;
  out.rbx = regs.rbx;
  out.rcx = regs.rcx;
  out.rdx = regs.rdx;
  out.rsi = regs.rsi;
  out.rdi = regs.rdi;
  out.rsp = regs.rsp;
  out.rbp = regs.rbp;
  out.r8 = regs.r8;
  out.r9 = regs.r9;
  out.r10 = regs.r10;
  out.r11 = regs.r11;
  out.r12 = regs.r12;
  out.r13 = regs.r13;
  out.r14 = regs.r14;
  out.r15 = regs.r15;
  out.rip = regs.rip;
  out.rflags = regs.rflags;
  out.cr0 = sregs.cr0;
  out.cr2 = sregs.cr2;
  out.cr3 = sregs.cr3;
  out.cr4 = sregs.cr4;
  out.efer = sregs.efer;
  out.cs = from_kvm(sregs.cs);
  out.ds = from_kvm(sregs.ds);
  out.es = from_kvm(sregs.es);
  out.fs = from_kvm(sregs.fs);
  out.gs = from_kvm(sregs.gs);
  out.ss = from_kvm(sregs.ss);
  out.tr = from_kvm(sregs.tr);
  out.gdt_base = sregs.gdt.base;
  out.gdt_limit = sregs.gdt.limit;
  out.idt_base = sregs.idt.base;
  out.idt_limit = sregs.idt.limit;
  return true;
}

std::string Vcpu::register_dump() const {
  RegisterSnapshot snapshot;
  if (!snapshot_registers(snapshot)) return errno_message("registers unavailable: KVM_GET_REGS/SREGS", errno);
  return format_register_dump(snapshot);
}

}  // namespace keel::kvm
