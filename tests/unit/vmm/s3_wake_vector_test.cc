// Decoding the FACS waking vectors (the guest wrote them: hostile input)
// and the BSP registers for each kind of wake, without KVM.
#include "src/vmm/s3_wake_vector.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

namespace keel::vmm {
namespace {

using Mode = WakeVector::Mode;

struct Facs {
  std::array<std::byte, 64> bytes{};
  Facs() { std::memcpy(bytes.data(), "FACS", 4); }
  Facs& vector(uint32_t v) { return put(facs::kWakingVectorOffset, v); }
  Facs& x_vector(uint64_t v) { return put(facs::kXWakingVectorOffset, v); }
  Facs& ospm_flags(uint32_t v) { return put(facs::kOspmFlagsOffset, v); }
  template <class T>
  Facs& put(size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof value);
    return *this;
  }
  WakeVector decode() const { return decode_waking_vector(bytes); }
};

TEST(WakeVector, RealModeVector) {
  EXPECT_EQ(Facs().vector(0x9000).decode(), (WakeVector{Mode::real_mode, 0x9000}));
  EXPECT_EQ(Facs().vector(0xFFFFF).decode(), (WakeVector{Mode::real_mode, 0xFFFFF}));
}

TEST(WakeVector, ZeroOrAboveOneMebibyteIsAReset) {
  EXPECT_EQ(Facs().decode().mode, Mode::reset);
  EXPECT_EQ(Facs().vector(0x100000).decode().mode, Mode::reset);
  EXPECT_EQ(Facs().vector(0xFFFFFFFF).decode().mode, Mode::reset);
}

TEST(WakeVector, XVectorWinsInProtectedModeWhen64BitWakeIsClear) {
  EXPECT_EQ(Facs().vector(0x9000).x_vector(0x200000).decode(), (WakeVector{Mode::protected_32, 0x200000}));
  EXPECT_EQ(Facs().x_vector(0xFFFFFFFF).decode(), (WakeVector{Mode::protected_32, 0xFFFFFFFF}));
}

TEST(WakeVector, XVectorIgnoredWith64BitWakeFlag) {
  // keel offers no 64-bit wake: the 32-bit vector is used, or a reset.
  EXPECT_EQ(Facs().vector(0x9000).x_vector(0x200000).ospm_flags(facs::kOspm64BitWake).decode(),
            (WakeVector{Mode::real_mode, 0x9000}));
  EXPECT_EQ(Facs().x_vector(0x200000).ospm_flags(facs::kOspm64BitWake).decode().mode, Mode::reset);
}

TEST(WakeVector, XVectorAboveFourGibibytesIsAReset) {
  EXPECT_EQ(Facs().vector(0x9000).x_vector(0x1'0000'0000ull).decode().mode, Mode::reset);
}

TEST(WakeVector, BadSignatureOrShortImageIsAReset) {
  Facs facs;
  facs.vector(0x9000);
  std::memcpy(facs.bytes.data(), "SCAF", 4);
  EXPECT_EQ(facs.decode().mode, Mode::reset);
  Facs good;
  good.vector(0x9000);
  EXPECT_EQ(decode_waking_vector(std::span(good.bytes).first(facs::kMinSize - 1)).mode, Mode::reset);
}

TEST(WakeVector, ReadFromGuestMemoryChecksTheRange) {
  MemoryConfig config;
  config.size_bytes = 2 << 20;
  GuestMemory memory(config);
  Facs facs;
  facs.vector(0x9000);
  ASSERT_TRUE(memory.write(Gpa{0xE0840}, facs.bytes));
  EXPECT_EQ(read_waking_vector(memory, 0xE0840), (WakeVector{Mode::real_mode, 0x9000}));
  EXPECT_EQ(read_waking_vector(memory, 0).mode, Mode::reset);
  // Straddling the end of RAM, or beyond it: not read, a reset.
  EXPECT_EQ(read_waking_vector(memory, (2 << 20) - 8).mode, Mode::reset);
  EXPECT_EQ(read_waking_vector(memory, uint64_t{1} << 40).mode, Mode::reset);
  EXPECT_EQ(read_waking_vector(memory, ~uint64_t{0} - 4).mode, Mode::reset);
}

TEST(WakeRegisters, RealModeAsAfterInitAtTheVector) {
  const auto regs = wake_registers(WakeVector{Mode::real_mode, 0x12345});
  ASSERT_TRUE(regs);
  EXPECT_EQ(regs->code.selector, 0x1234);
  EXPECT_EQ(regs->code.base, 0x12340u);
  EXPECT_EQ(regs->code.limit, 0xFFFFu);
  EXPECT_EQ(regs->code.db, 0);
  EXPECT_EQ(regs->code.g, 0);
  EXPECT_EQ(regs->code.present, 1);
  EXPECT_EQ(regs->rip, 0x5u);
  EXPECT_EQ(regs->cr0, 0x60000010u);
  EXPECT_EQ(regs->rflags, 0x2u);
  EXPECT_EQ(regs->data.selector, 0);
  EXPECT_EQ(regs->data.base, 0u);
  EXPECT_EQ(regs->data.limit, 0xFFFFu);
  EXPECT_EQ(regs->efer, 0u);
  EXPECT_EQ(regs->cr4, 0u);
  EXPECT_EQ(regs->gdt_limit, 0);  // the power-on GDTR stays
}

TEST(WakeRegisters, RealModeVectorAt9000) {
  const auto regs = wake_registers(WakeVector{Mode::real_mode, 0x9000});
  ASSERT_TRUE(regs);
  EXPECT_EQ(regs->code.selector, 0x900);
  EXPECT_EQ(regs->code.base + regs->rip, 0x9000u);
}

TEST(WakeRegisters, ProtectedModeFlatPagingOff) {
  const auto regs = wake_registers(WakeVector{Mode::protected_32, 0x200000});
  ASSERT_TRUE(regs);
  EXPECT_EQ(regs->rip, 0x200000u);
  EXPECT_EQ(regs->cr0 & kvm::cr0::kPe, kvm::cr0::kPe);
  EXPECT_EQ(regs->cr0 & kvm::cr0::kPg, 0u);
  EXPECT_EQ(regs->code.base, 0u);
  EXPECT_EQ(regs->code.limit, 0xFFFFFFFFu);
  EXPECT_EQ(regs->code.db, 1);
  EXPECT_EQ(regs->code.l, 0);
  EXPECT_EQ(regs->data.limit, 0xFFFFFFFFu);
  EXPECT_EQ(regs->efer, 0u);
  EXPECT_EQ(regs->rflags, 0x2u);
}

TEST(WakeRegisters, ResetHasNone) { EXPECT_FALSE(wake_registers(WakeVector{Mode::reset, 0x9000})); }

}  // namespace
}  // namespace keel::vmm
