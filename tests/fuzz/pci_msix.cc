// Fuzz target: PCI config space, capability writes and MSI-X table/PBA
// through a VirtioPciDevice (virtio/pci, devices/pci) over a VirtioBlk with
// the unit tests' ImmediateBackend, with fake interrupts, doorbells and
// poller. The script mixes raw accesses (config space at any offset
// 0..4095 with widths 1/2/4/8 that stay inside it, as the host bridge
// forwards them; any BAR at any offset and width) with structured driver
// steps (MSI-X entry programming, Enable/Function Mask, queue setup on
// addresses inside guest RAM, status and features, doorbells, backend
// completions, racing guest writes to RAM).
//
// Input: [header: ram size u16, base u8, capacity u16][script_len u8]
//        [script: 16 bytes/op][RAM image].
//
// Invariants, beyond "no crash": config space still answers with the
// vendor and device id; a vector whose entry is deliverable (Enable set,
// neither Function Mask nor its Mask bit) is never left pending (not
// lost); a vector masked before and after an operation is not delivered;
// an MSI-X-only operation (a BAR0 write, a config write away from the
// PCI_CFG window) delivers a vector exactly once if it was pending and is
// now deliverable, and otherwise not at all (never twice); a delivery uses
// the entry's programmed message; a device reset at the end keeps these;
// nothing outside guest RAM is touched
// (guard pages + slack check).
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

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
using keel::devices::MsixCapability;
namespace vp = keel::virtio::pci;
namespace blk = keel::virtio::blk;

constexpr size_t kMaxRam = 64 * 1024;
constexpr size_t kOpBytes = 16;
constexpr std::array<size_t, 4> kWidths{1, 2, 4, 8};

class Harness {
 public:
  Harness(GuardedRam& ram, uint64_t capacity) : ram_(ram) {
    auto backend = std::make_unique<blk::testing::ImmediateBackend>();
    backend_fd_ = backend->event_fd();
    auto device = std::make_shared<blk::VirtioBlk>(std::move(backend), blk::BlkOptions{capacity, false, "fuzz", 1 << 20},
                                                   poller_);
    device_id_ = static_cast<uint16_t>(vp::kDeviceIdBase + device->device_type());
    queues_ = device->queue_count();
    pci_ = std::make_unique<keel::virtio::VirtioPciDevice>(device, ram.memory(), interrupts_, registrar_, poller_);
    pci_->connect_intx(interrupts_.level_line(10));
    vectors_ = static_cast<uint16_t>(queues_ + 1);
    FUZZ_CHECK(interrupts_.vector_count() == vectors_, "one MSI vector per MSI-X entry");
  }

  uint64_t cfg_read(uint16_t offset, size_t size) {
    std::array<std::byte, 8> bytes{};
    pci_->config_read(offset, std::span(bytes).first(size));
    return load(bytes, size);
  }
  void cfg_write(uint16_t offset, size_t size, uint64_t value) {
    const auto bytes = store(value);
    pci_->config_write(offset, std::span(bytes).first(size));
  }
  uint64_t bar_read(uint8_t bar, uint64_t offset, size_t size) {
    std::array<std::byte, 8> bytes{};
    pci_->bar_read(bar, offset, std::span(bytes).first(size));
    return load(bytes, size);
  }
  void bar_write(uint8_t bar, uint64_t offset, size_t size, uint64_t value) {
    const auto bytes = store(value);
    pci_->bar_write(bar, offset, std::span(bytes).first(size));
  }
  void common_write(uint16_t offset, size_t size, uint64_t value) {
    bar_write(vp::kVirtioBar, vp::kCommonCfgOffset + offset, size, value);
  }
  void common_write64(uint16_t offset, uint64_t value) {
    common_write(offset, 4, value & 0xFFFF'FFFF);
    common_write(offset + 4, 4, value >> 32);
  }

  // One operation of the script; returns whether it can only have touched
  // MSI-X state (no device activity, no reset).
  bool run(FuzzInput& op) {
    const uint8_t kind = op.u8();
    switch (kind % 12) {
      case 0: {  // config write, any offset and width the host bridge forwards
        const uint16_t offset = op.u16() % keel::devices::kPciConfigSpaceSize;
        const size_t width = kWidths[op.u8() % 4];
        const uint64_t value = op.u64();
        if (offset + width > keel::devices::kPciConfigSpaceSize) return true;
        cfg_write(offset, width, value);
        const uint16_t window = pci_->capability_offsets().pci_cfg + vp::cap::kPciCfgData;
        return offset + width <= window || offset >= window + 4;
      }
      case 1: {  // config read
        const uint16_t offset = op.u16() % keel::devices::kPciConfigSpaceSize;
        const size_t width = kWidths[op.u8() % 4];
        if (offset + width <= keel::devices::kPciConfigSpaceSize) cfg_read(offset, width);
        return true;
      }
      case 2:
      case 3: {  // BAR access: mostly BAR0 (MSI-X) and BAR2 (virtio), any other too
        const uint8_t pick = op.u8();
        const uint8_t bar = (pick & 3) == 0 ? vp::kMsixBar : (pick & 3) == 1 ? vp::kVirtioBar : pick % 7;
        const uint64_t offset = op.u16() % (vp::kVirtioBarSize + 0x100);
        const size_t width = kWidths[op.u8() % 4];
        const uint64_t value = op.u64();
        if (kind % 12 == 3) {
          bar_read(bar, offset, width);  // reads deliver nothing (an ISR read only clears the ISR)
          return true;
        }
        bar_write(bar, offset, width, value);
        return bar != vp::kVirtioBar;
      }
      case 4: {  // program an MSI-X entry (or one past the table) as a driver does
        const uint16_t entry = op.u8() % (vectors_ + 1);
        const uint32_t address = 0xFEE0'0000u | (op.u16() & 0xFFC);
        const uint32_t data = op.u32();
        const uint8_t flags = op.u8();
        const uint64_t at = vp::kMsixTableOffset + MsixCapability::kEntrySize * entry;
        if ((flags & 2) != 0) {
          bar_write(vp::kMsixBar, at, 8, address);
          bar_write(vp::kMsixBar, at + 8, 8, data | (uint64_t{flags & 1u} << 32));
        } else {
          bar_write(vp::kMsixBar, at, 4, address);
          bar_write(vp::kMsixBar, at + 4, 4, 0);
          bar_write(vp::kMsixBar, at + 8, 4, data);
          bar_write(vp::kMsixBar, at + 12, 4, flags & 1u);
        }
        return true;
      }
      case 5: {  // MSI-X Enable / Function Mask
        const uint16_t control = pci_->msix_capability_offset() + 2;
        const uint16_t bits = static_cast<uint16_t>((op.u8() & 3u) << 14);
        cfg_write(control, 2, (cfg_read(control, 2) & 0x3FFF) | bits);
        return true;
      }
      case 6: {  // queue setup on rings inside (or just past) guest RAM
        const uint16_t queue = op.u8() % (queues_ + 1);
        const uint16_t size = static_cast<uint16_t>(1u << (op.u8() % 10));
        common_write(vp::common::kQueueSelect, 2, queue);
        common_write(vp::common::kQueueSize, 2, size);
        common_write64(vp::common::kQueueDesc, ram_address(op.u16()));
        common_write64(vp::common::kQueueDriver, ram_address(op.u16()));
        common_write64(vp::common::kQueueDevice, ram_address(op.u16()));
        common_write(vp::common::kQueueMsixVector, 2, op.u8() % (vectors_ + 1));
        common_write(vp::common::kQueueEnable, 2, op.u8() & 1);
        return false;
      }
      case 7:  // device status
        common_write(vp::common::kDeviceStatus, 1, op.u8());
        return false;
      case 8: {  // driver features (then the config vector)
        const uint64_t features = op.u64();
        common_write(vp::common::kDriverFeatureSelect, 4, 0);
        common_write(vp::common::kDriverFeature, 4, features & 0xFFFF'FFFF);
        common_write(vp::common::kDriverFeatureSelect, 4, 1);
        common_write(vp::common::kDriverFeature, 4, features >> 32);
        common_write(vp::common::kConfigMsixVector, 2, op.u8() % (vectors_ + 1));
        return false;
      }
      case 9: {  // doorbell write, then the loop runs its handler
        const uint16_t queue = op.u8() % (queues_ + 1);
        bar_write(vp::kVirtioBar, vp::kNotifyOffset + vp::kNotifyOffMultiplier * queue, 2, queue);
        poller_.fire(pci_->doorbell_eventfd(queue % queues_));
        return false;
      }
      case 10:  // the backend completes what it was given
        poller_.fire(backend_fd_);
        return false;
      default: {  // the guest writes RAM (racing the device's view of the rings)
        const uint64_t offset = op.u16() % ram_.size();
        ram_.bytes()[offset] = std::byte{op.u8()};
        return true;
      }
    }
  }

  struct Vector {
    size_t deliveries;
    bool pending;
    bool deliverable;
    keel::MsiMessage message;
  };
  std::vector<Vector> snapshot() {
    const uint16_t control = static_cast<uint16_t>(cfg_read(pci_->msix_capability_offset() + 2, 2));
    const bool enabled = (control & MsixCapability::kControlEnable) != 0;
    const bool function_masked = (control & MsixCapability::kControlFunctionMask) != 0;
    const uint64_t pba_at = vp::kMsixTableOffset + MsixCapability::kEntrySize * vectors_;
    std::vector<Vector> out;
    for (uint16_t i = 0; i < vectors_; ++i) {
      const uint64_t at = vp::kMsixTableOffset + MsixCapability::kEntrySize * i;
      const uint64_t pba = bar_read(vp::kMsixBar, pba_at + 8 * (i / 64), 8);
      const bool masked = (bar_read(vp::kMsixBar, at + 12, 4) & MsixCapability::kEntryMasked) != 0;
      out.push_back({interrupts_.vector(i).delivery_count(), ((pba >> (i % 64)) & 1) != 0,
                     enabled && !function_masked && !masked,
                     keel::MsiMessage{bar_read(vp::kMsixBar, at, 8), static_cast<uint32_t>(bar_read(vp::kMsixBar, at + 8, 4))}});
    }
    return out;
  }

  void check(const std::vector<Vector>& before, const std::vector<Vector>& after, bool msix_only) {
    for (uint16_t i = 0; i < vectors_; ++i) {
      const Vector& b = before[i];
      const Vector& a = after[i];
      const size_t delta = a.deliveries - b.deliveries;
      FUZZ_CHECK(a.deliveries >= b.deliveries, "deliveries only grow");
      FUZZ_CHECK(!(a.deliverable && a.pending), "a deliverable vector is never left pending");
      FUZZ_CHECK(b.deliverable || a.deliverable || delta == 0, "a masked vector is not delivered");
      if (msix_only) {
        FUZZ_CHECK(delta == ((b.pending && a.deliverable) ? 1u : 0u),
                   "a pending vector is delivered once when unmasked, and nothing else is delivered");
      }
      if (delta > 0 && a.deliverable) {
        FUZZ_CHECK(interrupts_.vector(i).deliveries().back().message == a.message,
                   "a delivery carries the entry's programmed message");
      }
    }
    FUZZ_CHECK(cfg_read(0, 2) == vp::kVendorId && cfg_read(2, 2) == device_id_,
               "config space still answers with the vendor and device id");
  }

 private:
  static uint64_t load(const std::array<std::byte, 8>& bytes, size_t size) {
    uint64_t value = 0;
    for (size_t i = 0; i < size; ++i) value |= std::to_integer<uint64_t>(bytes[i]) << (8 * i);
    return value;
  }
  static std::array<std::byte, 8> store(uint64_t value) {
    std::array<std::byte, 8> bytes{};
    for (size_t i = 0; i < 8; ++i) bytes[i] = std::byte(value >> (8 * i));
    return bytes;
  }
  // Mostly aligned addresses inside RAM; a few straddle its end.
  uint64_t ram_address(uint16_t pick) const {
    uint64_t offset = pick % (ram_.size() + 64);
    if ((pick & 0x8000) == 0) offset &= ~uint64_t{0xF};
    return ram_.base() + offset;
  }

  GuardedRam& ram_;
  keel::testing::FakeInterruptController interrupts_;
  keel::testing::FakeDoorbellRegistrar registrar_;
  keel::testing::FakeFdPoller poller_;
  int backend_fd_ = -1;
  uint16_t device_id_ = 0;
  uint16_t queues_ = 0;
  uint16_t vectors_ = 0;
  std::unique_ptr<keel::virtio::VirtioPciDevice> pci_;  // last: destroyed first
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const auto [base, ram_size] = keel::fuzz::choose_ram(in, kMaxRam);
  GuardedRam ram(base, ram_size);
  const uint64_t capacity = in.u16();
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * kOpBytes));
  ram.load(in.rest());

  Harness harness(ram, capacity);
  auto state = harness.snapshot();
  while (!script.empty()) {
    FuzzInput op(script.bytes(kOpBytes));
    const bool msix_only = harness.run(op);
    auto next = harness.snapshot();
    harness.check(state, next, msix_only);
    state = std::move(next);
  }
  // A device reset at the end (it leaves the PCI function's MSI-X state
  // alone) must not deliver or lose anything either.
  harness.common_write(vp::common::kDeviceStatus, 1, 0);
  harness.check(state, harness.snapshot(), false);
  FUZZ_CHECK(ram.slack_intact(), "nothing written below guest RAM");
  return 0;
}
