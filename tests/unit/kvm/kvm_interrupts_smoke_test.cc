// Needs /dev/kvm: the interrupt plane and doorbells against real KVM. MSI
// vectors and level lines are bound irqfds (KVM consumes their eventfd
// writes), routes are accepted, and a guest's doorbell writes signal the
// eventfd without an exit reaching the vCPU loop.
#include <gtest/gtest.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <variant>

#include "keel/config_error.h"
#include "keel/guest_memory.h"
#include "src/kvm/event_fd.h"
#include "src/kvm/gsi_route_table.h"
#include "src/kvm/kvm_gsi_route_sink.h"
#include "src/kvm/kvm_doorbells.h"
#include "src/kvm/kvm_interrupts.h"
#include "src/kvm/kvm_system.h"
#include "src/kvm/linux_kvm.h"
#include "src/kvm/vcpu.h"
#include "src/kvm/vm.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/kvm/kvm_test_support.h"

namespace keel::kvm {
namespace {

struct PcVm {
  PcVm() : vm(kvm.create_vm()) { vm->setup_pc_platform(); }
  Kvm kvm;
  std::unique_ptr<Vm> vm;
};

// The IOAPIC's Interrupt Request Register: bit n set while input n is
// asserted (KVM_GET_IRQCHIP).
uint32_t ioapic_irr(const Vm& vm) {
  kvm_irqchip chip{};
  chip.chip_id = KVM_IRQCHIP_IOAPIC;
  EXPECT_EQ(ioctl(vm.fd(), KVM_GET_IRQCHIP, &chip), 0) << errno;
  return chip.chip.ioapic.irr;
}

// KVM injects a resampled irqfd from a work item, not in the writer's
// context: wait (bounded) for the bit to appear.
bool wait_for_irr_bit(const Vm& vm, uint32_t gsi) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ioapic_irr(vm) & (1u << gsi)) return true;
    std::this_thread::yield();
  }
  return false;
}

TEST(KvmInterruptsSmoke, MsiVectorIsABoundIrqfdWithACommittedRoute) {
  REQUIRE_KVM();
  PcVm pc;
  testing::FakeFdPoller poller;
  KvmInterruptController controller(*pc.vm, poller);
  std::shared_ptr<GsiRouteTable> routes = pc.vm->gsi_routes();
  ASSERT_FALSE(routes->dirty()) << "setup_pc_platform committed the PC routes";

  auto first = controller.create_msi_vector();
  auto second = controller.create_msi_vector();
  EXPECT_EQ(static_cast<KvmMsiVector&>(*first).gsi(), 24u);
  EXPECT_EQ(static_cast<KvmMsiVector&>(*second).gsi(), 25u);

  first->trigger();  // no message yet: dropped, nothing written
  first->set_message({0xFEE0'0000, 0x41});
  second->set_message({0xFEE0'0000, 0x42});
  EXPECT_TRUE(routes->dirty());
  first->trigger();
  EXPECT_FALSE(routes->dirty()) << "KVM accepted the routes (one commit for both)";
  EXPECT_EQ(routes->msi_routes().size(), 2u);
  // KVM's irqfd reads the counter as the write wakes it, so a bound
  // eventfd is back at 0 at once; an unbound one would hold 1.
  EXPECT_EQ(drain_eventfd(first->eventfd()), 0u);

  // After destruction KVM no longer listens: a write stays in the counter.
  int kept = dup(second->eventfd());
  ASSERT_GE(kept, 0);
  second.reset();
  ASSERT_EQ(signal_eventfd(kept), 0);
  EXPECT_EQ(drain_eventfd(kept), 1u) << "irqfd deassigned";
  close(kept);
  EXPECT_EQ(routes->msi_routes().size(), 1u);
  EXPECT_TRUE(routes->dirty()) << "the released route goes at the next commit";
  first->trigger();
  EXPECT_FALSE(routes->dirty());
  EXPECT_EQ(static_cast<KvmMsiVector&>(*controller.create_msi_vector()).gsi(), 25u) << "GSI reused";
}

TEST(KvmInterruptsSmoke, KvmAcceptsAFullRoutingTable) {
  // Checks the limits GsiRouteTable assumes (KVM_MAX_IRQ_ROUTES entries,
  // GSIs below it) against the real ioctl.
  REQUIRE_KVM();
  PcVm pc;
  std::shared_ptr<GsiRouteTable> routes = pc.vm->gsi_routes();
  uint32_t count = 0;
  try {
    for (;;) {
      routes->set_msi(routes->allocate_gsi(), {0xFEE0'0000, 0x40 + (count % 0x80)});
      ++count;
    }
  } catch (const ConfigError&) {
  }
  EXPECT_EQ(count, GsiRouteTable::kMaxRoutes - pc_gsi_routes().size());
  EXPECT_EQ(routes->commit(), 0);

  // One past either limit is refused, so the table's bounds are KVM's.
  KvmGsiRouteSink sink(pc.vm->shared_fd());
  const MsiMessage message{0xFEE0'0000, 0x41};
  EXPECT_EQ(sink.set_routes({}, std::vector<MsiRoute>{{GsiRouteTable::kMaxRoutes - 1, message}}), 0);
  EXPECT_EQ(sink.set_routes({}, std::vector<MsiRoute>{{GsiRouteTable::kMaxRoutes, message}}), EINVAL);
  std::vector<MsiRoute> too_many;
  for (uint32_t gsi = 0; gsi <= GsiRouteTable::kMaxRoutes; ++gsi) too_many.push_back({gsi % 24, message});
  EXPECT_EQ(sink.set_routes({}, too_many), EINVAL);
}

TEST(KvmInterruptsSmoke, LevelLineAssertsTheIoApicInputThroughAnIrqfd) {
  REQUIRE_KVM();
  PcVm pc;
  testing::FakeFdPoller poller;
  KvmInterruptController controller(*pc.vm, poller);
  constexpr uint32_t kGsi = 20;
  EXPECT_THROW(controller.level_line(24), ConfigError);

  auto line = controller.level_line(kGsi);
  auto shared = controller.level_line(kGsi);  // a second device on the same GSI
  auto& kvm_line = static_cast<KvmLevelLine&>(*line);
  EXPECT_TRUE(poller.watching(kvm_line.resamplefd()));
  EXPECT_EQ(ioapic_irr(*pc.vm) & (1u << kGsi), 0u);

  line->set_level(true);
  EXPECT_EQ(drain_eventfd(kvm_line.irqfd()), 0u) << "KVM consumed the irqfd write";
  EXPECT_TRUE(wait_for_irr_bit(*pc.vm, kGsi)) << "GSI " << kGsi << " never asserted";
  line->set_level(false);
  EXPECT_FALSE(kvm_line.level());
  EXPECT_NE(ioapic_irr(*pc.vm) & (1u << kGsi), 0u) << "the line drops at the guest's EOI, not before";

  // What the loop does after an EOI: the handler drains the resample fd.
  ASSERT_EQ(signal_eventfd(kvm_line.resamplefd()), 0);
  EXPECT_TRUE(poller.fire(kvm_line.resamplefd()));
  EXPECT_EQ(drain_eventfd(kvm_line.resamplefd()), 0u);

  int resamplefd = kvm_line.resamplefd();
  line.reset();
  EXPECT_FALSE(poller.watching(resamplefd)) << "the handler is removed before the fd closes";
  EXPECT_EQ(poller.size(), 1u);
  shared.reset();
  EXPECT_EQ(poller.size(), 0u);
}

// 32-bit protected-mode guest (flat segments from boot_registers, no
// paging). Phase 1 writes both doorbells and a non-matching value, then
// `out` to 0x501; phase 2 repeats the doorbell writes, then `out` to 0x502.
//   mov dx, 0x510 ; mov ax, 0x1234 ; out dx, ax     (PIO doorbell, datamatch)
//   mov ax, 0x5678 ; out dx, ax                      (no match: an exit)
//   mov dword [0xd0000000], 7                        (MMIO doorbell)
//   mov dx, 0x501 ; out dx, al
//   mov dx, 0x510 ; mov ax, 0x1234 ; out dx, ax
//   mov dword [0xd0000000], 7
//   mov dx, 0x502 ; out dx, al
constexpr uint8_t kDoorbellGuest[] = {
    0x66, 0xBA, 0x10, 0x05, 0x66, 0xB8, 0x34, 0x12, 0x66, 0xEF,  //
    0x66, 0xB8, 0x78, 0x56, 0x66, 0xEF,                          //
    0xC7, 0x05, 0x00, 0x00, 0x00, 0xD0, 0x07, 0x00, 0x00, 0x00,  //
    0x66, 0xBA, 0x01, 0x05, 0xEE,                                //
    0x66, 0xBA, 0x10, 0x05, 0x66, 0xB8, 0x34, 0x12, 0x66, 0xEF,  //
    0xC7, 0x05, 0x00, 0x00, 0x00, 0xD0, 0x07, 0x00, 0x00, 0x00,  //
    0x66, 0xBA, 0x02, 0x05, 0xEE};

TEST(KvmInterruptsSmoke, DoorbellWritesSignalTheEventfdWithoutAnExit) {
  REQUIRE_KVM();
  constexpr uint64_t kSize = 0x10000;
  void* host = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(host, MAP_FAILED);
  auto* bytes = static_cast<std::byte*>(host);
  std::memcpy(bytes + 0x1000, kDoorbellGuest, sizeof kDoorbellGuest);
  GuestMemory memory(std::vector<MemoryRegion>{{Gpa{0}, kSize, bytes}});

  PcVm pc;
  pc.vm->add_memory(memory);
  auto vcpu = boot_vcpu0(pc.kvm, *pc.vm, flat_entry_32());

  UniqueFd pio_fd = create_eventfd();
  UniqueFd mmio_fd = create_eventfd();
  KvmDoorbellRegistrar registrar(*pc.vm);
  auto pio = registrar.register_doorbell(
      {.io = true, .address = 0x510, .length = 2, .eventfd = pio_fd.get(), .datamatch = 0x1234});
  auto mmio = registrar.register_doorbell(
      {.io = false, .address = 0xd000'0000, .length = 4, .eventfd = mmio_fd.get(), .datamatch = std::nullopt});
  ASSERT_NE(pio, nullptr);
  ASSERT_NE(mmio, nullptr);
  EXPECT_EQ(registrar.register_doorbell({.io = true, .address = 0x510, .length = 2, .eventfd = pio_fd.get(),
                                         .datamatch = 0x1234}),
            nullptr)
      << "KVM refuses a duplicate (EEXIST)";
  EXPECT_EQ(registrar.register_doorbell({.io = false, .address = 0x1000, .length = 3, .eventfd = mmio_fd.get(),
                                         .datamatch = std::nullopt}),
            nullptr);

  auto next = [&] { return next_exit(*vcpu); };

  // Phase 1: only the non-matching write and the end marker exit.
  VcpuExit e = next();
  auto* io = std::get_if<exit::Io>(&e);
  ASSERT_NE(io, nullptr) << "exit index " << e.index() << "\n" << vcpu->register_dump();
  EXPECT_EQ(io->port, 0x510);
  ASSERT_EQ(io->data.size(), 2u);
  EXPECT_EQ(io->data[0], std::byte{0x78}) << "the 0x1234 write never reached userspace";
  e = next();
  io = std::get_if<exit::Io>(&e);
  ASSERT_NE(io, nullptr) << "exit index " << e.index() << " (an MMIO exit means the doorbell missed)";
  EXPECT_EQ(io->port, 0x501);
  EXPECT_EQ(drain_eventfd(pio_fd.get()), 1u);
  EXPECT_EQ(drain_eventfd(mmio_fd.get()), 1u);

  // Phase 2: unregistered (the device closed its own fds first), the same
  // writes exit to the vCPU loop.
  pio_fd.reset();
  mmio_fd.reset();
  pio.reset();
  mmio.reset();
  e = next();
  io = std::get_if<exit::Io>(&e);
  ASSERT_NE(io, nullptr) << "exit index " << e.index();
  EXPECT_EQ(io->port, 0x510);
  EXPECT_EQ(io->data[0], std::byte{0x34});
  e = next();
  auto* mmio_exit = std::get_if<exit::Mmio>(&e);
  ASSERT_NE(mmio_exit, nullptr) << "exit index " << e.index();
  EXPECT_EQ(mmio_exit->address, 0xd000'0000u);
  EXPECT_TRUE(mmio_exit->is_write);
  e = next();
  io = std::get_if<exit::Io>(&e);
  ASSERT_NE(io, nullptr) << "exit index " << e.index();
  EXPECT_EQ(io->port, 0x502);

  munmap(host, kSize);
}

}  // namespace
}  // namespace keel::kvm
