#include "src/kvm/boot_registers.h"

namespace keel::kvm {

SegmentState flat_segment(uint16_t selector, uint8_t type, bool long_mode_code) noexcept {
  return SegmentState{.base = 0,
                      .limit = 0xFFFF'FFFF,  // byte-granular view of limit 0xFFFFF with G=1
                      .selector = selector,
                      .type = type,
                      .present = 1,
                      .dpl = 0,
                      .db = static_cast<uint8_t>(long_mode_code ? 0 : 1),  // L=1 requires D=0
                      .s = 1,
                      .l = static_cast<uint8_t>(long_mode_code ? 1 : 0),
                      .g = 1};
}

BootRegisters boot_registers(const boot::BootEntry& entry) noexcept {
  BootRegisters regs;
  regs.rip = entry.rip;
  regs.rsp = entry.rsp;
  regs.rsi = entry.rsi;
  regs.rax = entry.rax;
  regs.rbx = entry.rbx;
  regs.gdt_base = entry.gdt_base;
  regs.gdt_limit = entry.gdt_limit;
  bool long_mode = entry.mode == boot::EntryMode::long_mode_64;
  regs.code = flat_segment(boot::BootEntry::kCodeSelector, kTypeCodeExecReadAccessed, long_mode);
  regs.data = flat_segment(boot::BootEntry::kDataSelector, kTypeDataReadWriteAccessed, false);
  if (long_mode) {
    regs.cr0 = cr0::kPe | cr0::kEt | cr0::kNe | cr0::kPg;
    regs.cr4 = cr4::kPae;
    regs.efer = efer::kLme | efer::kLma;
    regs.cr3 = entry.cr3;
  } else {
    regs.cr0 = cr0::kPe | cr0::kEt;
  }
  return regs;
}

}  // namespace keel::kvm
