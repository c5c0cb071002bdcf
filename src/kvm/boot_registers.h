// The register state the boot vCPU starts in, derived from the boot layer's
// BootEntry. Pure (keel's own structs, no KVM types) so it is unit-tested
// without /dev/kvm; vcpu.cc copies it into kvm_regs / kvm_sregs.
#pragma once

#include <cstdint>

#include "src/boot/boot.h"

namespace keel::kvm {

// A segment register's hidden part, as kvm_segment holds it.
struct SegmentState {
  uint64_t base = 0;
  uint32_t limit = 0;
  uint16_t selector = 0;
  uint8_t type = 0;
  uint8_t present = 0;
  uint8_t dpl = 0;
  uint8_t db = 0;
  uint8_t s = 0;
  uint8_t l = 0;
  uint8_t g = 0;
  friend bool operator==(const SegmentState&, const SegmentState&) = default;
};

namespace cr0 {
inline constexpr uint64_t kPe = 1ull << 0;
inline constexpr uint64_t kEt = 1ull << 4;
inline constexpr uint64_t kNe = 1ull << 5;
inline constexpr uint64_t kPg = 1ull << 31;
}  // namespace cr0
namespace cr4 {
inline constexpr uint64_t kPae = 1ull << 5;
}  // namespace cr4
namespace efer {
inline constexpr uint64_t kLme = 1ull << 8;
inline constexpr uint64_t kLma = 1ull << 10;
}  // namespace efer

struct BootRegisters {
  // General-purpose
  uint64_t rip = 0, rsp = 0, rsi = 0, rax = 0, rbx = 0;
  uint64_t rflags = 0x2;  // bit 1 is reserved and always set
  // Special
  SegmentState code;  // CS
  SegmentState data;  // DS, ES, FS, GS, SS
  uint64_t gdt_base = 0;
  uint16_t gdt_limit = 0;
  uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
};

// Segment types (descriptor type field with S=1).
inline constexpr uint8_t kTypeCodeExecReadAccessed = 0xB;
inline constexpr uint8_t kTypeDataReadWriteAccessed = 0x3;

// A flat 4 GiB segment (base 0, G=1): 32-bit, or 64-bit code (L=1, D=0).
SegmentState flat_segment(uint16_t selector, uint8_t type, bool long_mode_code = false) noexcept;

// protected_mode_32: CR0 = PE|ET, flat 4 GiB 32-bit code (0x10) and data
// (0x18), paging off. long_mode_64: CR0 = PE|ET|NE|PG, CR4 = PAE,
// EFER = LME|LMA, CR3 from the entry, 64-bit code (L=1). GP registers and the
// GDT come from the entry in both modes.
BootRegisters boot_registers(const boot::BootEntry& entry) noexcept;

}  // namespace keel::kvm
