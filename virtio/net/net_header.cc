#include "virtio/net/net_header.h"

#include <bit>

#include "virtio/net/net_spec.h"

namespace keel::virtio::net {

// VnetHeader's fields are little-endian in guest memory and on the TAP;
// keel copies them as host integers.
static_assert(std::endian::native == std::endian::little, "virtio-net headers are read as host integers");

using keel::net::Offloads;
using keel::net::VnetHeader;

namespace {

// The 16-bit checksum field must lie inside the frame.
bool checksum_inside(const VnetHeader& header, size_t frame_length) noexcept {
  return uint64_t{header.csum_start} + header.csum_offset + sizeof(uint16_t) <= frame_length;
}

}  // namespace

uint64_t offload_features(const keel::net::BackendCapabilities& caps) noexcept {
  uint64_t features = 0;
  if (caps.tx.csum) {
    features |= feature::kCsum;
    if (caps.tx.tso4) features |= feature::kHostTso4;
    if (caps.tx.tso6) features |= feature::kHostTso6;
    if (caps.tx.ecn && (caps.tx.tso4 || caps.tx.tso6)) features |= feature::kHostEcn;
    if (caps.tx.ufo) features |= feature::kHostUfo;
  }
  if (caps.rx.csum) {
    features |= feature::kGuestCsum;
    if (caps.rx.tso4) features |= feature::kGuestTso4;
    if (caps.rx.tso6) features |= feature::kGuestTso6;
    if (caps.rx.ecn && (caps.rx.tso4 || caps.rx.tso6)) features |= feature::kGuestEcn;
    if (caps.rx.ufo) features |= feature::kGuestUfo;
  }
  return features;
}

bool features_consistent(uint64_t features) noexcept {
  const auto has = [features](uint64_t bit) { return (features & bit) != 0; };
  const auto needs = [&](uint64_t bit, uint64_t required) { return !has(bit) || (features & required) != 0; };
  return needs(feature::kGuestTso4, feature::kGuestCsum) && needs(feature::kGuestTso6, feature::kGuestCsum) &&
         needs(feature::kGuestEcn, feature::kGuestTso4 | feature::kGuestTso6) &&
         needs(feature::kGuestUfo, feature::kGuestCsum) && needs(feature::kHostTso4, feature::kCsum) &&
         needs(feature::kHostTso6, feature::kCsum) &&
         needs(feature::kHostEcn, feature::kHostTso4 | feature::kHostTso6) &&
         needs(feature::kHostUfo, feature::kCsum) && needs(feature::kCtrlRx, feature::kCtrlVq) &&
         needs(feature::kCtrlVlan, feature::kCtrlVq) && needs(feature::kGuestAnnounce, feature::kCtrlVq) &&
         needs(feature::kMq, feature::kCtrlVq) && needs(feature::kCtrlMacAddr, feature::kCtrlVq) &&
         needs(feature::kCtrlGuestOffloads, feature::kCtrlVq) && needs(feature::kCtrlRxExtra, feature::kCtrlRx);
}

Offloads guest_offloads(uint64_t bits) noexcept {
  return Offloads{
      .csum = (bits & feature::kGuestCsum) != 0,
      .tso4 = (bits & feature::kGuestTso4) != 0,
      .tso6 = (bits & feature::kGuestTso6) != 0,
      .ecn = (bits & feature::kGuestEcn) != 0,
      .ufo = (bits & feature::kGuestUfo) != 0,
  };
}

bool valid_tx_header(const VnetHeader& header, uint64_t features, size_t frame_length) noexcept {
  // 5.1.6.2.1: the driver sets no flag but NEEDS_CSUM, and that only with CSUM.
  if ((header.flags & ~VnetHeader::kNeedsCsum) != 0) return false;
  if ((header.flags & VnetHeader::kNeedsCsum) != 0) {
    if ((features & feature::kCsum) == 0 || !checksum_inside(header, frame_length)) return false;
  }
  if (header.hdr_len > frame_length) return false;
  const uint8_t ecn = header.gso_type & VnetHeader::kGsoEcn;
  const uint8_t type = header.gso_type & static_cast<uint8_t>(~VnetHeader::kGsoEcn);
  uint64_t required = 0;
  switch (type) {
    case VnetHeader::kGsoNone:
      // ECN describes a segmentation; alone it is meaningless.
      return ecn == 0;
    case VnetHeader::kGsoTcpv4: required = feature::kHostTso4; break;
    case VnetHeader::kGsoTcpv6: required = feature::kHostTso6; break;
    case VnetHeader::kGsoUdp: required = feature::kHostUfo; break;
    default: return false;
  }
  if ((features & required) == 0) return false;
  if (ecn != 0 && (features & feature::kHostEcn) == 0) return false;
  // Segments of zero bytes would make the backend loop or refuse.
  return header.gso_size != 0;
}

bool fit_rx_header(VnetHeader& header, const Offloads& accepted, size_t frame_length) noexcept {
  if ((header.flags & VnetHeader::kNeedsCsum) != 0) {
    if (!accepted.csum || !checksum_inside(header, frame_length)) return false;
  }
  const uint8_t ecn = header.gso_type & VnetHeader::kGsoEcn;
  const uint8_t type = header.gso_type & static_cast<uint8_t>(~VnetHeader::kGsoEcn);
  bool allowed = false;
  switch (type) {
    case VnetHeader::kGsoNone: allowed = ecn == 0; break;
    case VnetHeader::kGsoTcpv4: allowed = accepted.tso4; break;
    case VnetHeader::kGsoTcpv6: allowed = accepted.tso6; break;
    case VnetHeader::kGsoUdp: allowed = accepted.ufo; break;
    default: break;
  }
  if (!allowed || (ecn != 0 && !accepted.ecn)) return false;
  // 5.1.6.3.1: without GUEST_CSUM the flags are zero (the frame is fully
  // checksummed, DATA_VALID adds nothing); otherwise only the defined ones.
  header.flags &= accepted.csum ? (VnetHeader::kNeedsCsum | VnetHeader::kDataValid) : 0;
  return true;
}

}  // namespace keel::virtio::net
