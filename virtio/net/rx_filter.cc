#include "virtio/net/rx_filter.h"

#include <algorithm>
#include <cstring>

#include "virtio/net/net_spec.h"

namespace keel::virtio::net {
namespace {

bool same(const MacAddress& mac, std::span<const std::byte, 6> destination) noexcept {
  return std::memcmp(mac.data(), destination.data(), kMacBytes) == 0;
}

}  // namespace

void RxFilter::reset() noexcept {
  // QEMU resets to promiscuous: a driver without CTRL_RX (or one that has
  // not programmed the filter yet) must still see its traffic.
  promisc_ = true;
  allmulti_ = alluni_ = nomulti_ = nouni_ = nobcast_ = false;
  table_ = TableBuilder{};
}

bool RxFilter::accepts(const MacAddress& own, std::span<const std::byte, 6> destination) const noexcept {
  if (promisc_) return true;
  const bool group = (std::to_integer<uint8_t>(destination[0]) & 1) != 0;
  if (group) {
    const bool broadcast =
        std::all_of(destination.begin(), destination.end(), [](std::byte b) { return b == std::byte{0xFF}; });
    if (broadcast) return !nobcast_;
    if (nomulti_) return false;
    if (allmulti_ || table_.multicast_overflow_) return true;
    for (size_t i = table_.unicast_; i < table_.used_; ++i) {
      if (same(table_.entries_[i], destination)) return true;
    }
    return false;
  }
  if (nouni_) return false;
  if (alluni_ || table_.unicast_overflow_ || same(own, destination)) return true;
  for (size_t i = 0; i < table_.unicast_; ++i) {
    if (same(table_.entries_[i], destination)) return true;
  }
  return false;
}

bool RxFilter::set_mode(uint8_t command, bool on) noexcept {
  switch (command) {
    case ctrl::kRxPromisc: promisc_ = on; return true;
    case ctrl::kRxAllmulti: allmulti_ = on; return true;
    case ctrl::kRxAlluni: alluni_ = on; return true;
    case ctrl::kRxNomulti: nomulti_ = on; return true;
    case ctrl::kRxNouni: nouni_ = on; return true;
    case ctrl::kRxNobcast: nobcast_ = on; return true;
    default: return false;
  }
}

void RxFilter::TableBuilder::add_unicast(const MacAddress& mac) noexcept {
  // Unicast entries all come before any multicast one (the command's order).
  if (unicast_overflow_ || used_ != unicast_ || used_ >= kMacTableEntries) return;
  entries_[used_++] = mac;
  unicast_ = used_;
}

void RxFilter::TableBuilder::add_multicast(const MacAddress& mac) noexcept {
  if (multicast_overflow_ || used_ >= kMacTableEntries) return;
  entries_[used_++] = mac;
}

void RxFilter::commit_table(const TableBuilder& table) noexcept { table_ = table; }

}  // namespace keel::virtio::net
