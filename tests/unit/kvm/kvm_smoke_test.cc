// Needs /dev/kvm: opens it, creates a PC VM with one slot and a vCPU, and
// runs a few real-mode instructions that do port I/O (including rep outsb),
// an MMIO write, and HLT-free termination through an OUT exit.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <variant>

#include "keel/guest_memory.h"
#include "src/kvm/boot_msrs.h"
#include "src/kvm/kvm_system.h"
#include "src/kvm/vcpu.h"
#include "src/kvm/vm.h"
#include "tests/unit/kvm/kvm_test_support.h"

namespace keel::kvm {
namespace {

TEST(KvmSmoke, CreatesVmAndVcpu) {
  REQUIRE_KVM();
  Kvm kvm;
  EXPECT_GT(kvm.vcpu_mmap_size(), 0u);
  EXPECT_GE(kvm.max_vcpus(), 1);
  auto supported = kvm.supported_cpuid();
  EXPECT_FALSE(supported.empty());
  auto vm = kvm.create_vm();
  vm->setup_pc_platform();
  auto vcpu = vm->create_vcpu(0);
  vcpu->set_cpuid(patch_cpuid(supported, {.apic_id = 0, .cpu_count = 1}));
  const bool amd_hwcr = amd_tsc_freq_sel_expected(supported);
  std::vector<std::string> refused = vcpu->set_msrs(boot_msrs(amd_hwcr));
  EXPECT_LT(refused.size(), boot_msrs(amd_hwcr).size()) << "KVM accepted none of the boot MSRs";
  for (const std::string& name : refused) std::printf("note: host KVM refused boot MSR %s\n", name.c_str());
  vcpu->configure_bsp_lapic();
  vcpu->set_mp_state(MpState::runnable);
  RegisterSnapshot regs;
  EXPECT_TRUE(vcpu->snapshot_registers(regs));
  EXPECT_NE(vcpu->register_dump().find("RIP="), std::string::npos);
}

TEST(KvmSmoke, RunsGuestCodeAndDecodesIoAndMmioExits) {
  REQUIRE_KVM();
  constexpr uint64_t kSize = 0x10000;
  void* host = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(host, MAP_FAILED);
  auto* bytes = static_cast<std::byte*>(host);
  // 32-bit protected mode code at 0x1000 (boot_registers sets flat segments;
  // the GDT is only consulted on a segment load, which this code avoids):
  //   mov dx, 0x3f8 ; mov al, 'k' ; out dx, al
  //   mov esi, 0x2000 ; mov ecx, 3 ; rep outsb
  //   mov byte [0xd0000000], 0x5a           (outside RAM: MMIO write)
  //   mov dx, 0x501 ; in al, dx ; out dx, al
  const uint8_t code[] = {0x66, 0xBA, 0xF8, 0x03, 0xB0, 'k', 0xEE,        //
                          0xBE, 0x00, 0x20, 0x00, 0x00,                   //
                          0xB9, 0x03, 0x00, 0x00, 0x00, 0xF3, 0x6E,       //
                          0xC6, 0x05, 0x00, 0x00, 0x00, 0xD0, 0x5A,       //
                          0x66, 0xBA, 0x01, 0x05, 0xEC, 0xEE};
  std::memcpy(bytes + 0x1000, code, sizeof code);
  std::memcpy(bytes + 0x2000, "abc", 3);
  GuestMemory memory(std::vector<MemoryRegion>{{Gpa{0}, kSize, bytes}});

  Kvm kvm;
  auto vm = kvm.create_vm();
  vm->setup_pc_platform();
  vm->add_memory(memory);
  auto vcpu = boot_vcpu0(kvm, *vm, flat_entry_32());

  auto next = [&] { return next_exit(*vcpu); };

  VcpuExit e = next();
  auto* io = std::get_if<exit::Io>(&e);
  ASSERT_NE(io, nullptr) << "exit index " << e.index() << "\n" << vcpu->register_dump();
  EXPECT_EQ(io->port, 0x3f8);
  EXPECT_TRUE(io->is_write);
  EXPECT_EQ(io->size, 1);
  ASSERT_EQ(io->data.size(), 1u);
  EXPECT_EQ(static_cast<char>(io->data[0]), 'k');

  // rep outsb: KVM may deliver it as one exit with count 3 or as several.
  std::string rep;
  while (rep.size() < 3) {
    e = next();
    io = std::get_if<exit::Io>(&e);
    ASSERT_NE(io, nullptr) << "exit index " << e.index();
    EXPECT_EQ(io->port, 0x3f8);
    ASSERT_EQ(io->data.size(), size_t{io->size} * io->count);
    for (std::byte b : io->data) rep.push_back(static_cast<char>(b));
  }
  EXPECT_EQ(rep, "abc");

  e = next();
  auto* mmio = std::get_if<exit::Mmio>(&e);
  ASSERT_NE(mmio, nullptr) << "exit index " << e.index();
  EXPECT_EQ(mmio->address, 0xd0000000u);
  EXPECT_TRUE(mmio->is_write);
  ASSERT_EQ(mmio->data.size(), 1u);
  EXPECT_EQ(mmio->data[0], std::byte{0x5a});

  e = next();
  io = std::get_if<exit::Io>(&e);
  ASSERT_NE(io, nullptr);
  EXPECT_FALSE(io->is_write);
  EXPECT_EQ(io->port, 0x501);
  io->data[0] = std::byte{0x42};  // the value IN returns to the guest

  e = next();
  io = std::get_if<exit::Io>(&e);
  ASSERT_NE(io, nullptr);
  EXPECT_TRUE(io->is_write);
  EXPECT_EQ(io->data[0], std::byte{0x42}) << "the IN result reached AL";

  munmap(host, kSize);
}

TEST(KvmSmoke, ImmediateExitReturnsInterrupted) {
  REQUIRE_KVM();
  Kvm kvm;
  auto vm = kvm.create_vm();
  vm->setup_pc_platform();
  auto vcpu = vm->create_vcpu(0);
  vcpu->request_immediate_exit();
  VcpuExit e = vcpu->run();
  EXPECT_TRUE(std::holds_alternative<exit::Interrupted>(e)) << e.index();
  vcpu->clear_immediate_exit();
}

TEST(KvmSmoke, IrqLineDrivesGsi) {
  REQUIRE_KVM();
  Kvm kvm;
  auto vm = kvm.create_vm();
  vm->setup_pc_platform();
  auto line = vm->irq_line(4);
  line->pulse();  // must not log or fail: GSI 4 is routed
  vm.reset();
  line->set_level(false);  // the line keeps the VM fd alive
}

}  // namespace
}  // namespace keel::kvm
