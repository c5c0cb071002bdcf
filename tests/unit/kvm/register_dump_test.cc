#include "src/kvm/register_dump.h"

#include <gtest/gtest.h>

namespace keel::kvm {
namespace {

TEST(RegisterDump, ShowsGpControlAndSegmentRegisters) {
  RegisterSnapshot regs;
  regs.rax = 0x2BADB002;
  regs.rip = 0x100010;
  regs.rflags = 0x202;
  regs.cr0 = 0x11;
  regs.cr3 = 0x9000;
  regs.efer = 0x500;
  regs.cs = {.selector = 0x10, .base = 0, .limit = 0xffffffff, .type = 0xb, .present = true, .long_mode = false,
             .db = true};
  regs.ss.selector = 0x18;
  std::string text = format_register_dump(regs);
  EXPECT_NE(text.find("RAX=000000002badb002"), std::string::npos) << text;
  EXPECT_NE(text.find("RIP=0000000000100010"), std::string::npos) << text;
  EXPECT_NE(text.find("RFLAGS=00000202"), std::string::npos) << text;
  EXPECT_NE(text.find("CR0=00000011"), std::string::npos) << text;
  EXPECT_NE(text.find("CR3=0000000000009000"), std::string::npos) << text;
  EXPECT_NE(text.find("EFER=500"), std::string::npos) << text;
  EXPECT_NE(text.find("CS =0010"), std::string::npos) << text;
  EXPECT_NE(text.find("SS =0018"), std::string::npos) << text;
  EXPECT_NE(text.find("GDT="), std::string::npos) << text;
}

}  // namespace
}  // namespace keel::kvm
