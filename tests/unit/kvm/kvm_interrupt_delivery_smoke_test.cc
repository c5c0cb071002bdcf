// Needs /dev/kvm: interrupts reach a real guest. A 32-bit protected-mode
// guest enables its LAPIC, programs IOAPIC pin 20 level-triggered, and
// reports each interrupt with an `out`: an MSI vector delivers through its
// committed route, and a level line fires, is deasserted by the guest's
// EOI, signals the resample eventfd, and fires again only while the device
// holds it high (the INTx semantics of PCI 3.0, 2.2.6).
#include <gtest/gtest.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <variant>

#include "keel/guest_memory.h"
#include "src/kvm/kvm_interrupts.h"
#include "src/kvm/kvm_system.h"
#include "src/kvm/linux_kvm.h"
#include "src/kvm/vcpu.h"
#include "src/kvm/vm.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/kvm/kvm_test_support.h"

namespace keel::kvm {
namespace {

constexpr uint32_t kLevelGsi = 20;
constexpr uint8_t kMsiVector = 0x41;

// At 0x1000:
//   lidt [0x2f00]
//   mov dword [0xfee000f0], 0x1ff        LAPIC SVR: software enable
//   mov dword [0xfec00000], 0x38         IOREDTBL[20] low: vector 0x51,
//   mov dword [0xfec00010], 0x8051         fixed, level, active high, unmasked
//   mov dword [0xfec00000], 0x39         IOREDTBL[20] high: APIC ID 0
//   mov dword [0xfec00010], 0
//   mov dx, 0x500 ; out dx, al           ready
// idle: sti ; hlt ; jmp idle
constexpr uint8_t kMain[] = {
    0x0f, 0x01, 0x1d, 0x00, 0x2f, 0x00, 0x00,                    //
    0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0x00, 0x00,  //
    0xc7, 0x05, 0x00, 0x00, 0xc0, 0xfe, 0x38, 0x00, 0x00, 0x00,  //
    0xc7, 0x05, 0x10, 0x00, 0xc0, 0xfe, 0x51, 0x80, 0x00, 0x00,  //
    0xc7, 0x05, 0x00, 0x00, 0xc0, 0xfe, 0x39, 0x00, 0x00, 0x00,  //
    0xc7, 0x05, 0x10, 0x00, 0xc0, 0xfe, 0x00, 0x00, 0x00, 0x00,  //
    0x66, 0xba, 0x00, 0x05, 0xee,                                //
    0xfb, 0xf4, 0xeb, 0xfc};
// The handlers return to `idle` with a fresh stack instead of IRET: KVM's
// instruction emulator, which runs all guest code on PVM hosts, handles
// IRET in real mode only (emulation failure otherwise). The interrupt gate
// cleared IF; `idle` sets it again.
// At 0x1100, vector 0x41: out 0x541 ; EOI ; mov esp, 0x8000 ; jmp idle
constexpr uint8_t kMsiHandler[] = {0x66, 0xba, 0x41, 0x05, 0xee,                                //
                                   0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00,  //
                                   0xbc, 0x00, 0x80, 0x00, 0x00, 0xe9, 0x25, 0xff, 0xff, 0xff};
// At 0x1200, vector 0x51: out 0x551 ; EOI ; out 0x552 ; mov esp, 0x8000 ;
// jmp idle
constexpr uint8_t kLevelHandler[] = {0x66, 0xba, 0x51, 0x05, 0xee,                                //
                                     0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00,  //
                                     0x66, 0xba, 0x52, 0x05, 0xee,                                //
                                     0xbc, 0x00, 0x80, 0x00, 0x00, 0xe9, 0x20, 0xfe, 0xff, 0xff};

constexpr uint64_t kGdt = 0x2000;
constexpr uint64_t kIdtr = 0x2f00;
constexpr uint64_t kIdt = 0x3000;

void put_u64(std::byte* memory, uint64_t at, uint64_t value) { std::memcpy(memory + at, &value, sizeof value); }

// A 32-bit interrupt gate (present, DPL 0, type 0xE) to `handler` in the
// boot code segment.
uint64_t interrupt_gate(uint32_t handler) {
  return (uint64_t{handler} & 0xFFFF) | (uint64_t{boot::BootEntry::kCodeSelector} << 16) | (uint64_t{0x8E} << 40) |
         (uint64_t{handler >> 16} << 48);
}

void no_op_signal_handler(int) {}

// Kicks the test thread out of a KVM_RUN that waits (in the guest's HLT)
// for an interrupt that never comes, so a broken build fails instead of
// hanging. Not a timing assertion: the bound is far beyond any real run.
class HangGuard {
 public:
  explicit HangGuard(Vcpu& vcpu) : vcpu_(vcpu), target_(pthread_self()) {
    struct sigaction action{};
    action.sa_handler = no_op_signal_handler;
    sigaction(SIGUSR2, &action, &previous_);
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      if (done_cv_.wait_for(lock, std::chrono::seconds(20), [this] { return done_; })) return;
      fired_ = true;
      vcpu_.request_immediate_exit();
      while (!done_) {
        pthread_kill(target_, SIGUSR2);
        done_cv_.wait_for(lock, std::chrono::milliseconds(100));
      }
    });
  }
  ~HangGuard() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
    sigaction(SIGUSR2, &previous_, nullptr);
  }
  bool fired() {
    std::lock_guard lock(mutex_);
    return fired_;
  }

 private:
  Vcpu& vcpu_;
  pthread_t target_;
  struct sigaction previous_{};
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

bool readable(int fd) {
  pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&entry, 1, 0) == 1 && (entry.revents & POLLIN);
}

uint32_t ioapic_irr(const Vm& vm) {
  kvm_irqchip chip{};
  chip.chip_id = KVM_IRQCHIP_IOAPIC;
  EXPECT_EQ(ioctl(vm.fd(), KVM_GET_IRQCHIP, &chip), 0) << errno;
  return chip.chip.ioapic.irr;
}

TEST(KvmInterruptDeliverySmoke, MsiAndResampledLevelLineReachTheGuest) {
  REQUIRE_KVM();
  constexpr uint64_t kSize = 0x10000;
  void* host = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(host, MAP_FAILED);
  auto* bytes = static_cast<std::byte*>(host);
  std::memcpy(bytes + 0x1000, kMain, sizeof kMain);
  std::memcpy(bytes + 0x1100, kMsiHandler, sizeof kMsiHandler);
  std::memcpy(bytes + 0x1200, kLevelHandler, sizeof kLevelHandler);
  // GDT: null, null, flat 32-bit code (0x10), flat data (0x18) - the
  // selectors boot_registers loads; interrupt delivery reloads CS from it.
  put_u64(bytes, kGdt + 0x10, 0x00CF'9B00'0000'FFFF);
  put_u64(bytes, kGdt + 0x18, 0x00CF'9300'0000'FFFF);
  put_u64(bytes, kIdt + 8 * kMsiVector, interrupt_gate(0x1100));
  put_u64(bytes, kIdt + 8 * 0x51, interrupt_gate(0x1200));
  uint16_t idt_limit = 256 * 8 - 1;
  uint32_t idt_base = kIdt;
  std::memcpy(bytes + kIdtr, &idt_limit, 2);
  std::memcpy(bytes + kIdtr + 2, &idt_base, 4);
  GuestMemory memory(std::vector<MemoryRegion>{{Gpa{0}, kSize, bytes}});

  Kvm kvm;
  auto vm = kvm.create_vm();
  vm->setup_pc_platform();
  vm->add_memory(memory);
  boot::BootEntry entry = flat_entry_32();
  entry.gdt_base = kGdt;
  entry.gdt_limit = 0x1F;
  auto vcpu = boot_vcpu0(kvm, *vm, entry);
  vcpu->configure_bsp_lapic();

  testing::FakeFdPoller poller;
  KvmInterruptController controller(*vm, poller);
  auto msi = controller.create_msi_vector();
  auto line = controller.level_line(kLevelGsi);
  const int resamplefd = static_cast<KvmLevelLine&>(*line).resamplefd();

  HangGuard guard(*vcpu);
  // The port of the next `out`, or 0 for any other exit.
  auto next_port = [&]() -> uint16_t {
    for (;;) {
      VcpuExit e = vcpu->run();
      if (std::holds_alternative<exit::Interrupted>(e) && !guard.fired()) continue;
      auto* io = std::get_if<exit::Io>(&e);
      if (io == nullptr) {
        ADD_FAILURE() << "exit index " << e.index() << (guard.fired() ? " (hung waiting for an interrupt)" : "")
                      << "\n" << vcpu->register_dump();
        return 0;
      }
      return io->port;
    }
  };

  ASSERT_EQ(next_port(), 0x500) << "guest set up";

  // MSI: staged route (APIC ID 0, fixed, vector 0x41), committed by trigger.
  msi->set_message({0xFEE0'0000, kMsiVector});
  msi->trigger();
  ASSERT_EQ(next_port(), 0x541) << "the MSI reached the guest";

  // INTx: assert; the guest takes it and EOIs while the device holds it high.
  line->set_level(true);
  ASSERT_EQ(next_port(), 0x551) << "the level interrupt reached the guest";
  ASSERT_EQ(next_port(), 0x552);
  EXPECT_TRUE(readable(resamplefd)) << "the EOI signalled the resample eventfd";
  EXPECT_EQ(ioapic_irr(*vm) & (1u << kLevelGsi), 0u) << "KVM deasserted the input at the EOI";
  ASSERT_TRUE(poller.fire(resamplefd));  // still high: reasserted
  EXPECT_FALSE(readable(resamplefd));
  ASSERT_EQ(next_port(), 0x551) << "a line still high fires again after the EOI";

  // Device drops the line: after this EOI nothing fires again.
  line->set_level(false);
  ASSERT_EQ(next_port(), 0x552);
  EXPECT_TRUE(readable(resamplefd));
  ASSERT_TRUE(poller.fire(resamplefd));
  msi->trigger();
  EXPECT_EQ(next_port(), 0x541) << "the low line did not fire again; the MSI came next";
  EXPECT_EQ(ioapic_irr(*vm) & (1u << kLevelGsi), 0u);

  munmap(host, kSize);
}

}  // namespace
}  // namespace keel::kvm
