#include "devices/e1000/tx_offload.h"

#include <algorithm>
#include <cstring>

#include "devices/e1000/checksum.h"

namespace keel::devices::e1000 {

namespace {
constexpr uint8_t kTucmdTcp = 0x01;
constexpr uint8_t kTucmdIp = 0x02;
constexpr uint8_t kTucmdTse = 0x04;
constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr size_t kIpv4HeaderMin = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kTcpHeaderMin = 20;
constexpr size_t kUdpHeader = 8;

// [start, end] inclusive, clipped to the packet; end 0 means "to the end".
std::span<uint8_t> checksum_range(std::span<uint8_t> packet, size_t start, size_t end) noexcept {
  if (start >= packet.size()) return {};
  const size_t last = (end == 0 || end >= packet.size()) ? packet.size() - 1 : end;
  if (last < start) return {};
  return packet.subspan(start, last - start + 1);
}

void insert_ip_checksum(std::span<uint8_t> packet, size_t start, size_t end, size_t at) noexcept {
  if (at + 2 > packet.size()) return;
  // The field is zeroed first: a stale value would otherwise be summed in.
  store_be16(packet, at, 0);
  auto range = checksum_range(packet, start, end);
  if (range.empty()) return;
  store_be16(packet, at, static_cast<uint16_t>(~fold(ones_sum(range))));
}

void insert_l4_checksum(std::span<uint8_t> packet, size_t start, size_t end, size_t at, bool udp,
                        uint32_t extra) noexcept {
  if (at + 2 > packet.size()) return;
  auto range = checksum_range(packet, start, end);
  if (range.empty() || at < start || at + 2 > start + range.size()) return;
  uint16_t sum = static_cast<uint16_t>(~fold(ones_sum(range, extra)));
  if (udp && sum == 0) sum = 0xFFFF;  // RFC 768: 0 means "no checksum"
  store_be16(packet, at, sum);
}
}  // namespace

TxContext decode_context(std::span<const uint8_t, 16> d) noexcept {
  TxContext c;
  c.ipcss = d[0];
  c.ipcso = d[1];
  c.ipcse = static_cast<uint16_t>(d[2] | d[3] << 8);
  c.tucss = d[4];
  c.tucso = d[5];
  c.tucse = static_cast<uint16_t>(d[6] | d[7] << 8);
  c.paylen = static_cast<uint32_t>(d[8] | d[9] << 8 | (d[10] & 0x0F) << 16);
  const uint8_t tucmd = d[11];
  c.tcp = tucmd & kTucmdTcp;
  c.ipv4 = tucmd & kTucmdIp;
  c.tse = tucmd & kTucmdTse;
  c.hdr_len = d[13];
  c.mss = static_cast<uint16_t>(d[14] | d[15] << 8);
  return c;
}

void insert_legacy_checksum(std::span<uint8_t> packet, uint8_t css, uint8_t cso) noexcept {
  if (cso + 2u > packet.size() || css >= packet.size() || cso < css) return;
  auto range = packet.subspan(css);
  store_be16(packet, cso, static_cast<uint16_t>(~fold(ones_sum(range))));
}

void insert_context_checksums(std::span<uint8_t> packet, const TxContext& c, bool ixsm, bool txsm) noexcept {
  if (ixsm) insert_ip_checksum(packet, c.ipcss, c.ipcse, c.ipcso);
  if (txsm) insert_l4_checksum(packet, c.tucss, c.tucse, c.tucso, !c.tcp, 0);
}

Result<void> validate_tso(const TxContext& c, size_t packet_size) noexcept {
  const size_t ip_header = c.ipv4 ? kIpv4HeaderMin : kIpv6Header;
  const size_t l4_header = c.tcp ? kTcpHeaderMin : kUdpHeader;
  if (c.mss < kMinMss) return fail(Errc::malformed, "TSO MSS too small");
  if (c.hdr_len == 0 || size_t{c.hdr_len} + c.mss > kMaxSegmentFrame) {
    return fail(Errc::malformed, "TSO header length + MSS out of range");
  }
  if (c.ipcss + ip_header > c.tucss || c.tucss + l4_header > c.hdr_len) {
    return fail(Errc::malformed, "TSO header offsets inconsistent");
  }
  if (c.ipcso + 2u > c.hdr_len || c.tucso + 2u > c.hdr_len || c.tucso < c.tucss) {
    return fail(Errc::malformed, "TSO checksum offsets outside the header");
  }
  if (packet_size <= c.hdr_len) return fail(Errc::malformed, "TSO packet has no payload");
  return {};
}

void segment_tso(std::span<const uint8_t> packet, const TxContext& c, bool ixsm, bool txsm,
                 std::vector<uint8_t>& scratch, SegmentSink emit) noexcept {
  const size_t header = c.hdr_len;
  const size_t payload = packet.size() - header;
  const uint16_t ip_id = c.ipv4 ? load_be16(packet, c.ipcss + 4) : 0;
  const uint32_t seq = c.tcp ? load_be32(packet, c.tucss + 4) : 0;
  const uint8_t flags = c.tcp ? packet[c.tucss + 13] : 0;
  uint16_t index = 0;
  for (size_t offset = 0; offset < payload; offset += c.mss, ++index) {
    const size_t chunk = std::min<size_t>(c.mss, payload - offset);
    const bool last = offset + chunk == payload;
    scratch.resize(header + chunk);  // capacity reserved by the owner: no allocation
    std::span<uint8_t> seg(scratch);
    std::memcpy(seg.data(), packet.data(), header);
    std::memcpy(seg.data() + header, packet.data() + header + offset, chunk);
    const size_t len = seg.size();
    if (c.ipv4) {
      store_be16(seg, c.ipcss + 2, static_cast<uint16_t>(len - c.ipcss));
      store_be16(seg, c.ipcss + 4, static_cast<uint16_t>(ip_id + index));
    } else {
      store_be16(seg, c.ipcss + 4, static_cast<uint16_t>(len - c.ipcss - kIpv6Header));
    }
    if (c.tcp) {
      store_be32(seg, c.tucss + 4, static_cast<uint32_t>(seq + offset));
      // FIN and PSH belong to the last segment only.
      seg[c.tucss + 13] = last ? flags : static_cast<uint8_t>(flags & ~(kTcpFin | kTcpPsh));
    } else {
      store_be16(seg, c.tucss + 4, static_cast<uint16_t>(len - c.tucss));
    }
    if (ixsm && c.ipv4) {
      const size_t ihl = (seg[c.ipcss] & 0x0F) * 4u;
      const size_t end = (c.ipcse != 0 && c.ipcse < header) ? c.ipcse : c.ipcss + std::max(ihl, kIpv4HeaderMin) - 1;
      insert_ip_checksum(seg, c.ipcss, std::min(end, header - 1), c.ipcso);
    }
    // The driver seeds the TCP/UDP field with the pseudo-header sum
    // without the length (manual 3.3.7.2); each segment adds its own.
    if (txsm) insert_l4_checksum(seg, c.tucss, 0, c.tucso, !c.tcp, static_cast<uint32_t>(len - c.tucss));
    emit(seg);
  }
}

}  // namespace keel::devices::e1000
