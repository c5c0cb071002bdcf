#include "src/kvm/register_dump.h"

#include <fmt/format.h>

namespace keel::kvm {

namespace {
std::string segment_line(const char* name, const SegmentSnapshot& s) {
  return fmt::format("{:<3}={:04x} base={:016x} limit={:08x} type={:x}{}{}{}", name, s.selector, s.base, s.limit,
                     s.type, s.present ? "" : " not-present", s.long_mode ? " L" : "", s.db ? " D/B" : "");
}
}  // namespace

std::string format_register_dump(const RegisterSnapshot& r) {
  std::string out;
  out += fmt::format("RAX={:016x} RBX={:016x} RCX={:016x} RDX={:016x}\n", r.rax, r.rbx, r.rcx, r.rdx);
  out += fmt::format("RSI={:016x} RDI={:016x} RSP={:016x} RBP={:016x}\n", r.rsi, r.rdi, r.rsp, r.rbp);
  out += fmt::format("R8 ={:016x} R9 ={:016x} R10={:016x} R11={:016x}\n", r.r8, r.r9, r.r10, r.r11);
  out += fmt::format("R12={:016x} R13={:016x} R14={:016x} R15={:016x}\n", r.r12, r.r13, r.r14, r.r15);
  out += fmt::format("RIP={:016x} RFLAGS={:08x}\n", r.rip, r.rflags);
  out += fmt::format("CR0={:08x} CR2={:016x} CR3={:016x} CR4={:08x} EFER={:x}\n", r.cr0, r.cr2, r.cr3, r.cr4,
                     r.efer);
  for (auto [name, seg] : {std::pair{"CS", &r.cs}, {"DS", &r.ds}, {"ES", &r.es}, {"FS", &r.fs}, {"GS", &r.gs},
                           {"SS", &r.ss}, {"TR", &r.tr}}) {
    out += segment_line(name, *seg);
    out += '\n';
  }
  out += fmt::format("GDT={:016x}/{:x} IDT={:016x}/{:x}", r.gdt_base, r.gdt_limit, r.idt_base, r.idt_limit);
  return out;
}

}  // namespace keel::kvm
