// The receive filter of virtio-net (virtio 1.2, 5.1.6.5.1 and 5.1.6.5.2):
// which destination MAC addresses the guest wants to see, as the control
// queue configured it. Rules and defaults as QEMU's model, which drivers
// are tested against: promiscuous after reset; broadcast accepted unless
// NOBCAST; multicast by NOMULTI / ALLMULTI / the table; unicast by NOUNI /
// ALLUNI / the device's own MAC / the table. A table that was offered more
// entries than it holds accepts the whole class (an overflowing table must
// not lose frames the guest asked for).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace keel::virtio::net {

using MacAddress = std::array<uint8_t, 6>;

class RxFilter {
 public:
  static constexpr size_t kMacTableEntries = 64;  // as QEMU's MAC_TABLE_ENTRIES

  RxFilter() noexcept { reset(); }
  void reset() noexcept;

  // `destination`: the first 6 bytes of the Ethernet frame.
  bool accepts(const MacAddress& own, std::span<const std::byte, 6> destination) const noexcept;

  // RX-class modes (ctrl::kRxPromisc ... kRxNobcast); false for an unknown one.
  bool set_mode(uint8_t command, bool on) noexcept;

  // MAC_TABLE_SET, in two steps so a malformed command leaves the old table:
  // begin_table() starts a fresh one, add_*() fill it (false once a class
  // overflowed: later entries are not needed), commit_table() installs it.
  class TableBuilder {
   public:
    void add_unicast_count(uint32_t count) noexcept { unicast_overflow_ = count > kMacTableEntries; }
    void add_multicast_count(uint32_t count) noexcept {
      multicast_overflow_ = count > kMacTableEntries - unicast_;
    }
    bool unicast_overflow() const noexcept { return unicast_overflow_; }
    bool multicast_overflow() const noexcept { return multicast_overflow_; }
    void add_unicast(const MacAddress& mac) noexcept;
    void add_multicast(const MacAddress& mac) noexcept;

   private:
    friend class RxFilter;
    std::array<MacAddress, kMacTableEntries> entries_{};
    size_t unicast_ = 0;  // entries_[0, unicast_) unicast, then multicast
    size_t used_ = 0;
    bool unicast_overflow_ = false;
    bool multicast_overflow_ = false;
  };
  void commit_table(const TableBuilder& table) noexcept;

  bool promiscuous() const noexcept { return promisc_; }
  size_t table_entries() const noexcept { return table_.used_; }

 private:
  bool promisc_ = true;
  bool allmulti_ = false;
  bool alluni_ = false;
  bool nomulti_ = false;
  bool nouni_ = false;
  bool nobcast_ = false;
  TableBuilder table_;
};

}  // namespace keel::virtio::net
