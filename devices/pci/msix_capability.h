// MSI-X (PCI Local Bus 3.0, 6.8.2): the capability structure in config
// space, the vector table and the pending-bit array (PBA) in BAR memory, and
// delivery through one MsiVector per table entry. A PCI device embeds one,
// forwards the matching config writes and BAR accesses, and calls notify().
//
// Delivery rules: a vector is delivered only while MSI-X Enable is set and
// neither Function Mask nor the entry's Mask bit is; otherwise notify() sets
// the entry's pending bit, and the interrupt is delivered (and the bit
// cleared) when the vector becomes unmasked. The KVM route of an entry is
// updated (staged, see MsiVector) when its message is written while it is
// unmasked, or when it becomes unmasked.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "devices/pci/pci_config_space.h"
#include "keel/interrupts.h"

namespace keel::devices {

class MsixCapability {
 public:
  static constexpr uint8_t kCapabilityId = 0x11;
  static constexpr uint16_t kMaxVectors = 2048;
  static constexpr uint64_t kEntrySize = 16;
  // Message Control bits (offset 2 in the capability).
  static constexpr uint16_t kControlEnable = 1u << 15;
  static constexpr uint16_t kControlFunctionMask = 1u << 14;
  // Vector Control (dword 3 of an entry).
  static constexpr uint32_t kEntryMasked = 1u << 0;

  // Adds the capability to `config` and creates `vector_count` vectors from
  // `interrupts`. Table and PBA offsets must be 8-byte aligned, and the two
  // must not overlap when they share a BAR. Both BARs must already be
  // declared (PciConfigSpace::add_bar) as memory BARs large enough to hold
  // them. Throws ConfigError otherwise.
  MsixCapability(PciConfigSpace& config, InterruptController& interrupts, uint16_t vector_count,
                 uint8_t table_bar, uint32_t table_offset, uint8_t pba_bar, uint32_t pba_offset);

  uint16_t capability_offset() const noexcept { return cap_offset_; }
  uint16_t vector_count() const noexcept { return static_cast<uint16_t>(entries_.size()); }
  uint64_t table_size() const noexcept { return kEntrySize * entries_.size(); }
  uint64_t pba_size() const noexcept { return 8 * ((entries_.size() + 63) / 64); }

  // The owner calls this after it forwarded a guest config write of `length`
  // bytes at `offset` to `config` (any write: it checks the overlap itself).
  // Applies Enable / Function Mask changes and delivers pending vectors that
  // became unmasked.
  void config_written(uint16_t offset, size_t length) noexcept;

  // Guest accesses to BAR `bar` at `offset`: handled (true) when they fall
  // in the table or the PBA, false otherwise. Table accesses must be dword
  // or qword aligned (others read 0 / are ignored, as the spec allows);
  // the PBA is read-only.
  bool bar_read(uint8_t bar, uint64_t offset, std::span<std::byte> data) noexcept;
  bool bar_write(uint8_t bar, uint64_t offset, std::span<const std::byte> data) noexcept;

  bool enabled() const noexcept;
  // Raise `vector` (deliver or set pending). An out-of-range vector is
  // ignored. Any thread.
  void notify(uint16_t vector) noexcept;
  // Device reset: every entry masked with a zero message, PBA clear, Enable
  // and Function Mask clear (in config space too).
  void reset() noexcept;

 private:
  struct Entry {
    uint32_t address_low = 0;
    uint32_t address_high = 0;
    uint32_t data = 0;
    uint32_t control = kEntryMasked;
    bool pending = false;
    std::optional<MsiMessage> routed;  // last message given to `vector`
    std::unique_ptr<MsiVector> vector;
  };

  // All with lock_ held.
  bool deliverable(const Entry& entry) const noexcept;
  // Brings `entry`'s route and pending bit in line with its state: an
  // unmasked entry whose message differs from the routed one is re-routed,
  // and a pending vector that became deliverable is delivered once.
  void settle(Entry& entry) noexcept;
  uint32_t entry_dword(const Entry& entry, uint64_t dword) const noexcept;
  void set_entry_dword(Entry& entry, uint64_t dword, uint32_t value) noexcept;
  uint64_t pba_qword(uint64_t index) const noexcept;

  PciConfigSpace& config_;
  uint16_t cap_offset_ = 0;
  uint8_t table_bar_, pba_bar_;
  uint32_t table_offset_, pba_offset_;
  mutable std::mutex lock_;  // guards entries_ and the cached control bits
  std::vector<Entry> entries_;
  bool enable_ = false;
  bool function_mask_ = false;
};

}  // namespace keel::devices
