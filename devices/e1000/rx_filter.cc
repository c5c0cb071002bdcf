#include "devices/e1000/rx_filter.h"

#include "devices/e1000/checksum.h"
#include "devices/e1000/e1000_regs.h"

namespace keel::devices::e1000 {

namespace {
constexpr size_t kEthHeader = 14;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

bool exact_match(std::span<const uint8_t, 6> dst, std::span<const uint32_t, 32> ra) noexcept {
  for (size_t i = 0; i < ra.size(); i += 2) {
    const uint32_t low = ra[i];
    const uint32_t high = ra[i + 1];
    // Address Select (bits 17:16) 00 matches the destination; others would
    // match the source, which receive filtering does not use.
    if (!(high & kRahAv) || ((high >> 16) & 3) != 0) continue;
    const uint8_t bytes[6] = {static_cast<uint8_t>(low), static_cast<uint8_t>(low >> 8),
                              static_cast<uint8_t>(low >> 16), static_cast<uint8_t>(low >> 24),
                              static_cast<uint8_t>(high), static_cast<uint8_t>(high >> 8)};
    bool same = true;
    for (size_t b = 0; b < 6; ++b) same = same && bytes[b] == dst[b];
    if (same) return true;
  }
  return false;
}
}  // namespace

uint16_t multicast_hash(std::span<const uint8_t, 6> a, uint32_t mo) noexcept {
  // MO selects which 12 of destination bits [47:32] form the hash:
  // 00: [47:36], 01: [46:35], 10: [45:34], 11: [43:32].
  static constexpr unsigned kShift[4] = {4, 3, 2, 0};
  const uint32_t top = uint32_t{a[5]} << 8 | a[4];
  return static_cast<uint16_t>((top >> kShift[mo & 3]) & 0xFFF);
}

RxFilterResult filter_frame(std::span<const uint8_t> frame, const RxFilterRegisters& regs) noexcept {
  RxFilterResult result;
  if (frame.size() < kEthHeader) return result;
  const std::span<const uint8_t, 6> dst = frame.first<6>();
  result.broadcast = dst[0] == 0xFF && dst[1] == 0xFF && dst[2] == 0xFF && dst[3] == 0xFF && dst[4] == 0xFF &&
                     dst[5] == 0xFF;
  result.multicast = !result.broadcast && (dst[0] & 1);

  // VLAN filter first: a tagged frame whose VLAN ID is not in VFTA is
  // dropped whatever its address.
  if ((regs.rctl & rctl::kVfe) && load_be16(frame, 12) == regs.vet && frame.size() >= kEthHeader + 4) {
    const uint16_t vid = load_be16(frame, 14) & 0x0FFF;
    if (!(regs.vfta[vid >> 5] >> (vid & 31) & 1)) return result;
  }

  const uint32_t rctl = regs.rctl;
  if (rctl & rctl::kUpe) {
    result.accept = true;
  } else if (exact_match(dst, regs.ra)) {
    result.accept = true;
  } else if (result.broadcast) {
    result.accept = (rctl & (rctl::kBam | rctl::kMpe)) != 0;
  } else if (result.multicast) {
    const uint16_t hash = multicast_hash(dst, (rctl >> rctl::kMoShift) & 3);
    result.accept = (rctl & rctl::kMpe) || (regs.mta[hash >> 5] >> (hash & 31) & 1);
  }
  return result;
}

RxChecksumStatus rx_checksum_status(std::span<const uint8_t> frame, uint32_t rxcsum) noexcept {
  RxChecksumStatus out;
  const bool ip_offload = rxcsum & rxcsum::kIpofl;
  const bool l4_offload = rxcsum & rxcsum::kTuofl;
  if (!ip_offload && !l4_offload) {
    out.status = kRxStatusIxsm;  // the driver must not look at the other bits
    return out;
  }
  if (frame.size() < kEthHeader + 20 || load_be16(frame, 12) != kEtherTypeIpv4) return out;
  const auto ip = frame.subspan(kEthHeader);
  const size_t ihl = (ip[0] & 0x0F) * 4u;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ihl > ip.size()) return out;
  const size_t total = load_be16(ip, 2);
  if (total < ihl || total > ip.size()) return out;
  if (ip_offload) {
    out.status |= kRxStatusIpcs;
    if (fold(ones_sum(ip.first(ihl))) != 0xFFFF) out.errors |= kRxErrorIpe;
  }
  const bool fragment = (load_be16(ip, 6) & 0x3FFF) != 0;  // MF or an offset
  const uint8_t proto = ip[9];
  if (!l4_offload || fragment || (proto != kProtoTcp && proto != kProtoUdp)) return out;
  const auto l4 = ip.subspan(ihl, total - ihl);
  if ((proto == kProtoTcp && l4.size() < 20) || (proto == kProtoUdp && l4.size() < 8)) return out;
  if (proto == kProtoUdp && load_be16(l4, 6) == 0) return out;  // sender sent no checksum
  uint32_t pseudo = fold(ones_sum(ip.subspan(12, 8)));  // folded: the additions below cannot wrap
  pseudo += proto;
  pseudo += static_cast<uint32_t>(l4.size());
  out.status |= kRxStatusTcpcs;
  if (fold(ones_sum(l4, pseudo)) != 0xFFFF) out.errors |= kRxErrorTcpe;
  return out;
}

}  // namespace keel::devices::e1000
