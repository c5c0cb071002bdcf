#include "src/kvm/boot_registers.h"

#include <gtest/gtest.h>

namespace keel::kvm {
namespace {

boot::BootEntry multiboot_entry() {
  boot::BootEntry entry{};
  entry.format = boot::KernelFormat::multiboot;
  entry.mode = boot::EntryMode::protected_mode_32;
  entry.rip = 0x100000;
  entry.rax = 0x2BADB002;
  entry.rbx = 0x9000;
  entry.gdt_base = 0x500;
  entry.gdt_limit = 0x1f;
  return entry;
}

TEST(BootRegisters, ProtectedMode32) {
  BootRegisters regs = boot_registers(multiboot_entry());
  EXPECT_EQ(regs.rip, 0x100000u);
  EXPECT_EQ(regs.rax, 0x2BADB002u);
  EXPECT_EQ(regs.rbx, 0x9000u);
  EXPECT_EQ(regs.rflags, 0x2u);
  EXPECT_EQ(regs.cr0, cr0::kPe | cr0::kEt);
  EXPECT_EQ(regs.cr4, 0u);
  EXPECT_EQ(regs.efer, 0u);
  EXPECT_EQ(regs.cr3, 0u);
  EXPECT_EQ(regs.gdt_base, 0x500u);
  EXPECT_EQ(regs.gdt_limit, 0x1f);

  EXPECT_EQ(regs.code.selector, 0x10);
  EXPECT_EQ(regs.code.base, 0u);
  EXPECT_EQ(regs.code.limit, 0xFFFFFFFFu);
  EXPECT_EQ(regs.code.type, 0xB);
  EXPECT_EQ(regs.code.db, 1);
  EXPECT_EQ(regs.code.l, 0);
  EXPECT_EQ(regs.code.g, 1);
  EXPECT_EQ(regs.code.s, 1);
  EXPECT_EQ(regs.code.present, 1);
  EXPECT_EQ(regs.code.dpl, 0);

  EXPECT_EQ(regs.data.selector, 0x18);
  EXPECT_EQ(regs.data.type, 0x3);
  EXPECT_EQ(regs.data.db, 1);
  EXPECT_EQ(regs.data.limit, 0xFFFFFFFFu);
  EXPECT_EQ(regs.data.present, 1);
}

TEST(BootRegisters, LongMode64) {
  boot::BootEntry entry{};
  entry.format = boot::KernelFormat::linux_bzimage;
  entry.mode = boot::EntryMode::long_mode_64;
  entry.rip = 0x1000200;
  entry.rsi = 0x7000;
  entry.rsp = 0x8ff0;
  entry.cr3 = 0x9000;
  entry.gdt_base = 0x500;
  entry.gdt_limit = 0x27;
  BootRegisters regs = boot_registers(entry);
  EXPECT_EQ(regs.rip, 0x1000200u);
  EXPECT_EQ(regs.rsi, 0x7000u);
  EXPECT_EQ(regs.rsp, 0x8ff0u);
  EXPECT_EQ(regs.cr3, 0x9000u);
  EXPECT_EQ(regs.cr0 & (cr0::kPe | cr0::kPg | cr0::kEt), cr0::kPe | cr0::kPg | cr0::kEt);
  EXPECT_TRUE(regs.cr4 & cr4::kPae);
  EXPECT_EQ(regs.efer, efer::kLme | efer::kLma);
  EXPECT_EQ(regs.code.l, 1);
  EXPECT_EQ(regs.code.db, 0) << "L=1 with D=1 is reserved";
  EXPECT_EQ(regs.code.selector, 0x10);
  EXPECT_EQ(regs.data.selector, 0x18);
  EXPECT_EQ(regs.gdt_limit, 0x27);
}

TEST(BootRegisters, Cr3IgnoredInProtectedMode) {
  boot::BootEntry entry = multiboot_entry();
  entry.cr3 = 0x1234000;  // paging is off: loading CR3 would be harmless but wrong
  EXPECT_EQ(boot_registers(entry).cr3, 0u);
}

}  // namespace
}  // namespace keel::kvm
