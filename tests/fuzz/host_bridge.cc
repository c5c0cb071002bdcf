// Fuzz target: the PCI host bridge (devices/pci PciHostBridge) as a guest
// reaches it: CONFIG_ADDRESS/CONFIG_DATA at 0xCF8-0xCFF on the PIO bus and
// the ECAM window on the MMIO bus, at every width the buses pass (1/2/4/8)
// and every offset. Behind it: the bridge's own function at 00:00.0, a
// VirtioPciDevice over a VirtioBlk (unit tests' ImmediateBackend, fake
// interrupts, doorbells and poller, as pci_msix does) in slot 1, and empty
// slots 2..31. Guest writes may reprogram BARs and the command register, so
// the bridge moves BAR windows on the MMIO/PIO buses while the script runs;
// BAR-window accesses at random addresses in the PCI windows follow.
//
// Input: [ram header (choose_ram)][op count u8][ops: 12 bytes each][RAM].
// An op is kind u8 then operands (fuzz_input.h reads zeros past the end).
//
// Invariants, beyond "no crash":
//  - CF8 readback: a dword read of 0xCF8 returns the last dword written
//    there with bits 30:24 and 1:0 cleared; byte/word writes at 0xCF8-0xCFB
//    never change it;
//  - the reset port (0xCF9) is reached by exactly the byte accesses at
//    0xCF9 and nothing else;
//  - the vendor/device ids of 00:00.0 (8086:1237) and 00:01.0
//    (1AF4:1042) never change, through ECAM and through CF8/CFC;
//  - absent slots, functions 1..7 and buses other than 0 read all-ones
//    (ECAM and CF8/CFC); an ECAM access crossing a function reads all-ones;
//  - a register read at different widths (1/2/4/8 through ECAM, 1/2/4
//    through CFC) gives the same bytes (the virtio PCI_CFG data window,
//    whose reads are BAR reads with side effects, is left out);
//  - the ECAM window stays reachable whatever BARs the guest programs;
//  - nothing outside guest RAM is touched (guard pages + slack check).
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include "devices/pci/pci_config_space.h"
#include "devices/pci/pci_host_bridge.h"
#include "devices/pci/pci_layout.h"
#include "keel/bus.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/guarded_ram.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/virtio/blk/immediate_backend.h"
#include "virtio/blk/virtio_blk.h"
#include "virtio/pci/virtio_pci_device.h"
#include "virtio/pci/virtio_pci_layout.h"

namespace {

using keel::fuzz::FuzzInput;
using keel::fuzz::GuardedRam;
namespace pl = keel::devices::pci_layout;
namespace vp = keel::virtio::pci;
namespace blk = keel::virtio::blk;

constexpr size_t kMaxRam = 16 * 1024;
constexpr size_t kOpBytes = 12;
constexpr std::array<size_t, 4> kWidths{1, 2, 4, 8};
constexpr uint32_t kAddressWritable = 0x80FF'FFFC;
constexpr uint8_t kVirtioSlot = 1;
constexpr uint16_t kBlkDeviceId = vp::kDeviceIdBase + 2;

// Counts what reaches 0xCF9's reset control register.
class CountingResetPort final : public keel::BusDevice {
 public:
  void read(uint64_t offset, std::span<std::byte> data) noexcept override {
    FUZZ_CHECK(offset == 0 && data.size() == 1, "the reset port sees single bytes only");
    data[0] = std::byte{0x02};
    ++accesses;
  }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override {
    FUZZ_CHECK(offset == 0 && data.size() == 1, "the reset port sees single bytes only");
    ++accesses;
  }
  uint64_t accesses = 0;
};

uint64_t load(std::span<const std::byte> bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes.size(); ++i) value |= std::to_integer<uint64_t>(bytes[i]) << (8 * i);
  return value;
}
uint64_t ones(size_t size) { return size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1; }

class Harness {
 public:
  explicit Harness(GuardedRam& ram) {
    reset_ = std::make_shared<CountingResetPort>();
    bridge_ = keel::devices::PciHostBridge::create(pio_, mmio_, reset_, &interrupts_);
    bridge_->install();
    auto backend = std::make_unique<blk::testing::ImmediateBackend>();
    auto device = std::make_shared<blk::VirtioBlk>(std::move(backend), blk::BlkOptions{64, false, "fuzz", 1 << 20},
                                                   poller_);
    virtio_ = std::make_shared<keel::virtio::VirtioPciDevice>(device, ram.memory(), interrupts_, registrar_, poller_);
    FUZZ_CHECK(bridge_->add_device(virtio_) == kVirtioSlot, "the first device lands in slot 1");
    window_ = static_cast<uint16_t>(virtio_->capability_offsets().pci_cfg + vp::cap::kPciCfgData);
  }

  uint64_t pio_read(uint64_t port, size_t size) {
    std::array<std::byte, 8> bytes{};
    pio_.read(port, std::span(bytes).first(size));
    return load(std::span(bytes).first(size));
  }
  void pio_write(uint64_t port, size_t size, uint64_t value) {
    std::array<std::byte, 8> bytes{};
    std::memcpy(bytes.data(), &value, 8);
    pio_.write(port, std::span(bytes).first(size));
  }
  uint64_t mmio_read(uint64_t address, size_t size) {
    std::array<std::byte, 8> bytes{};
    mmio_.read(address, std::span(bytes).first(size));
    return load(std::span(bytes).first(size));
  }
  void mmio_write(uint64_t address, size_t size, uint64_t value) {
    std::array<std::byte, 8> bytes{};
    std::memcpy(bytes.data(), &value, 8);
    mmio_.write(address, std::span(bytes).first(size));
  }
  static uint64_t ecam(uint8_t slot, uint8_t function, uint16_t offset) {
    return pl::kEcamBase + (uint64_t{slot} << 15) + (uint64_t{function} << 12) + offset;
  }
  static uint32_t address(uint8_t bus, uint8_t slot, uint8_t function, uint8_t reg) {
    return 0x8000'0000u | uint32_t{bus} << 16 | uint32_t{slot & 0x1Fu} << 11 | uint32_t{function & 7u} << 8 |
           (reg & 0xFCu);
  }
  // A CF8/CFC read that leaves CONFIG_ADDRESS as it was.
  uint64_t cf8_read(uint32_t config_address, uint8_t byte, size_t size) {
    pio_write(pl::kConfigAddressPort, 4, config_address);
    const uint64_t value = pio_read(pl::kConfigDataPort + byte, size);
    pio_write(pl::kConfigAddressPort, 4, config_address_);
    return value;
  }

  // Mostly the populated slots, sometimes any.
  static uint8_t pick_slot(uint8_t pick) { return (pick & 0x80) ? (pick & 0x1F) : (pick & 3) % 3; }

  void run(FuzzInput& op) {
    const uint8_t kind = op.u8();
    uint64_t reset_expected = reset_->accesses;
    switch (kind % 8) {
      case 0: {  // CONFIG_ADDRESS dword, as a driver writes it
        const uint8_t pick = op.u8();
        const uint8_t bus = (pick & 0x40) ? op.u8() : 0;
        const uint8_t function = (pick & 0x20) ? op.u8() & 7 : 0;
        uint32_t value = address(bus, pick_slot(pick), function, op.u8());
        if (pick & 0x10) value = op.u32();  // anything, reserved bits included
        pio_write(pl::kConfigAddressPort, 4, value);
        config_address_ = value & kAddressWritable;
        break;
      }
      case 1:
      case 2: {  // any access to 0xCF8-0xCFF at any width the bus passes
        const uint64_t offset = op.u8() % 8;
        const size_t width = kWidths[op.u8() % 4];
        const uint64_t value = op.u64();
        if (offset + width > 8) break;
        if (kind % 8 == 1) {
          const uint64_t got = pio_read(pl::kConfigAddressPort + offset, width);
          if (offset == 0 && width == 4) FUZZ_CHECK(got == config_address_, "CONFIG_ADDRESS reads back");
          if (offset < 4 && !(offset == 0 && width == 4) && !(offset == 1 && width == 1)) {
            FUZZ_CHECK(got == ones(width), "other accesses at 0xCF8-0xCFB read all-ones");
          }
          if (offset >= 4 && (!(config_address_ & 0x8000'0000u) || ((config_address_ >> 16) & 0xFF) != 0)) {
            FUZZ_CHECK(got == ones(width), "CONFIG_DATA with the enable bit clear or bus != 0 reads all-ones");
          }
        } else {
          pio_write(pl::kConfigAddressPort + offset, width, value);
          if (offset == 0 && width == 4) config_address_ = static_cast<uint32_t>(value) & kAddressWritable;
        }
        if (offset == 1 && width == 1) ++reset_expected;
        break;
      }
      case 3:
      case 4: {  // ECAM at any offset and width, mostly inside populated slots
        const uint8_t pick = op.u8();
        const uint8_t function = (pick & 0x40) ? op.u8() & 7 : 0;
        const uint16_t offset = op.u16() & 0xFFF;
        const size_t width = kWidths[op.u8() % 4];
        const uint64_t at = ecam(pick_slot(pick), function, offset);
        if (kind % 8 == 3) {
          const uint64_t got = mmio_read(at, width);
          if (offset + width > keel::devices::kPciConfigSpaceSize || function != 0 || pick_slot(pick) > kVirtioSlot) {
            FUZZ_CHECK(got == ones(width), "absent functions and accesses crossing a function read all-ones");
          }
        } else {
          mmio_write(at, width, op.u64());
        }
        break;
      }
      case 5: {  // a BAR-window access somewhere in the PCI MMIO or I/O window
        const uint8_t pick = op.u8();
        const size_t width = kWidths[op.u8() % 4];
        const uint32_t where = op.u32();
        const uint64_t value = op.u32();
        if (pick & 1) {
          const uint64_t port = pl::kIoAllocationStart + (where % 0x400);
          (pick & 2) ? pio_write(port, width, value) : (void)pio_read(port, width);
        } else {
          const uint64_t at = pl::kMmioWindowStart + (where % (pl::kMmioWindowEnd - pl::kMmioWindowStart));
          (pick & 2) ? mmio_write(at, width, value) : (void)mmio_read(at, width);
        }
        break;
      }
      case 6:
        check_widths(pick_slot(op.u8()), op.u16() & 0xFF8);
        break;
      default:  // the loop serves a doorbell (if the guest set a queue up)
        poller_.fire(virtio_->doorbell_eventfd(0));
        break;
    }
    FUZZ_CHECK(reset_->accesses == reset_expected, "only byte accesses at 0xCF9 reach the reset port");
  }

  // Every width of an 8-byte-aligned group agrees, through ECAM and CFC.
  void check_widths(uint8_t slot, uint16_t group) {
    if (slot == kVirtioSlot && group < window_ + 4 && window_ < group + 8) return;  // BAR reads with side effects
    const uint64_t whole = mmio_read(ecam(slot, 0, group), 8);
    for (size_t width : {1u, 2u, 4u}) {
      for (uint16_t at = 0; at < 8; at += static_cast<uint16_t>(width)) {
        const uint64_t expected = (whole >> (8 * at)) & ones(width);
        FUZZ_CHECK(mmio_read(ecam(slot, 0, group + at), width) == expected, "ECAM reads agree at every width");
        if (group + at < 256) {
          const uint32_t cfg = address(0, slot, 0, static_cast<uint8_t>(group + at));
          FUZZ_CHECK(cf8_read(cfg, (group + at) & 3, width) == expected, "CFC reads agree with ECAM");
        }
      }
    }
  }

  void check_invariants(uint8_t absent_slot, uint8_t function) {
    FUZZ_CHECK(pio_read(pl::kConfigAddressPort, 4) == config_address_, "CONFIG_ADDRESS reads back");
    FUZZ_CHECK(mmio_read(ecam(0, 0, 0), 4) == 0x1237'8086u, "the host bridge's ids never change");
    FUZZ_CHECK(mmio_read(ecam(kVirtioSlot, 0, 0), 4) == (uint32_t{kBlkDeviceId} << 16 | vp::kVendorId),
               "the virtio device's ids never change");
    FUZZ_CHECK(cf8_read(address(0, 0, 0, 0), 0, 4) == 0x1237'8086u, "ids through CF8/CFC");
    FUZZ_CHECK(cf8_read(address(0, kVirtioSlot, 0, 0), 0, 4) == (uint32_t{kBlkDeviceId} << 16 | vp::kVendorId),
               "ids through CF8/CFC");
    const uint8_t slot = static_cast<uint8_t>(2 + absent_slot % 30);
    FUZZ_CHECK(mmio_read(ecam(slot, 0, 0), 8) == ~uint64_t{0}, "an empty slot reads all-ones");
    FUZZ_CHECK(cf8_read(address(0, slot, 0, 0), 0, 4) == 0xFFFF'FFFFu, "an empty slot reads all-ones via CFC");
    const uint8_t fn = static_cast<uint8_t>(1 + function % 7);
    FUZZ_CHECK(mmio_read(ecam(absent_slot % 2, fn, 0), 4) == 0xFFFF'FFFFu, "functions 1..7 read all-ones");
    FUZZ_CHECK(cf8_read(address(static_cast<uint8_t>(1 + function % 255), 0, 0, 0), 0, 4) == 0xFFFF'FFFFu,
               "buses other than 0 read all-ones");
  }

 private:
  // The fakes first: the buses (destroyed before them) own the bridge and,
  // through its BAR windows, the device that refers to the fakes.
  keel::testing::FakeInterruptController interrupts_;
  keel::testing::FakeDoorbellRegistrar registrar_;
  keel::testing::FakeFdPoller poller_;
  keel::Bus pio_{"pio"};
  keel::Bus mmio_{"mmio"};
  std::shared_ptr<CountingResetPort> reset_;
  std::shared_ptr<keel::devices::PciHostBridge> bridge_;
  std::shared_ptr<keel::virtio::VirtioPciDevice> virtio_;
  uint16_t window_ = 0;
  uint32_t config_address_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const auto [base, ram_size] = keel::fuzz::choose_ram(in, kMaxRam);
  GuardedRam ram(base, ram_size);
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * kOpBytes));
  ram.load(in.rest());

  Harness harness(ram);
  harness.check_invariants(0, 0);
  while (!script.empty()) {
    FuzzInput op(script.bytes(kOpBytes));
    harness.run(op);
    harness.check_invariants(op.u8(), op.u8());
  }
  FUZZ_CHECK(ram.slack_intact(), "nothing written below guest RAM");
  return 0;
}
