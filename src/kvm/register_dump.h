// A vCPU's registers as text, for the log when a VM fails. The snapshot is
// keel's own struct (vcpu.cc fills it from KVM_GET_REGS/SREGS) so the
// formatting is testable without KVM.
#pragma once

#include <cstdint>
#include <string>

namespace keel::kvm {

struct SegmentSnapshot {
  uint16_t selector = 0;
  uint64_t base = 0;
  uint32_t limit = 0;
  uint8_t type = 0;
  bool present = false;
  bool long_mode = false;
  bool db = false;
};

struct RegisterSnapshot {
  uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, rsp = 0, rbp = 0;
  uint64_t r8 = 0, r9 = 0, r10 = 0, r11 = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
  uint64_t rip = 0, rflags = 0;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;
  SegmentSnapshot cs, ds, es, fs, gs, ss, tr;
  uint64_t gdt_base = 0, idt_base = 0;
  uint16_t gdt_limit = 0, idt_limit = 0;
};

// Several lines, no trailing newline.
std::string format_register_dump(const RegisterSnapshot& regs);

}  // namespace keel::kvm
