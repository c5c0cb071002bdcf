// What the transmit path does to a packet the guest handed over: checksum
// insertion (legacy IC/CSO/CSS, or a context descriptor's IP and TCP/UDP
// fields with POPTS IXSM/TXSM) and TCP segmentation (TSE), as the 8254x
// manual describes them (3.3.5-3.3.7). Pure functions on host buffers;
// every offset comes from the guest and is checked against the packet.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "keel/result.h"

namespace keel::devices::e1000 {

// A context descriptor (3.3.6), decoded.
struct TxContext {
  uint8_t ipcss = 0;   // IP header start
  uint8_t ipcso = 0;   // where the IP checksum goes
  uint16_t ipcse = 0;  // last byte of the IP checksum range (inclusive); 0 = end of packet
  uint8_t tucss = 0;   // TCP/UDP header start
  uint8_t tucso = 0;   // where the TCP/UDP checksum goes
  uint16_t tucse = 0;  // last byte (inclusive); 0 = end of packet
  uint32_t paylen = 0; // TSO: payload bytes after the header
  bool tcp = false;    // TUCMD.TCP: TCP, else UDP
  bool ipv4 = false;   // TUCMD.IP: IPv4, else IPv6
  bool tse = false;    // TUCMD.TSE
  uint8_t hdr_len = 0; // TSO: bytes of headers copied into every segment
  uint16_t mss = 0;    // TSO: payload bytes per segment
};

// Decodes a 16-byte context descriptor.
TxContext decode_context(std::span<const uint8_t, 16> descriptor) noexcept;

// Legacy descriptor IC: the checksum of [css, end) goes at cso. Out-of-range
// offsets leave the packet unchanged.
void insert_legacy_checksum(std::span<uint8_t> packet, uint8_t css, uint8_t cso) noexcept;

// Context-based insertion for a packet sent whole: IXSM fills the IP header
// checksum, TXSM the TCP/UDP one (the field holds the pseudo-header sum the
// driver seeded, which the range includes).
void insert_context_checksums(std::span<uint8_t> packet, const TxContext& context, bool ixsm, bool txsm) noexcept;

// Smallest MSS accepted for TSO (Linux's own minimum); with the header and
// packet limits it bounds the segments one packet can produce.
inline constexpr uint16_t kMinMss = 48;
inline constexpr size_t kMaxSegmentFrame = 16384;

// Checks a TSO context against a packet of `packet_size` bytes:
// Errc::malformed when the header layout or MSS makes no sense.
[[nodiscard]] Result<void> validate_tso(const TxContext& context, size_t packet_size) noexcept;

// Cuts a validated TSO packet into segments of at most `mss` payload bytes,
// each with the header copied and fixed (IPv4 total length and id, IPv6
// payload length, TCP sequence number and flags or UDP length, checksums
// as IXSM/TXSM ask), and hands each to `emit` (the span is valid only
// during the call).
// Where segment_tso() hands each segment: a non-owning reference to the
// caller's callable. A std::function would heap-allocate for a capture
// larger than two pointers, once per TSO packet, inside noexcept.
class SegmentSink {
 public:
  template <class Callable>
  explicit SegmentSink(Callable& callable) noexcept
      : object_(&callable),
        call_([](void* object, std::span<const uint8_t> segment) noexcept {
          (*static_cast<Callable*>(object))(segment);
        }) {}
  void operator()(std::span<const uint8_t> segment) const noexcept { call_(object_, segment); }

 private:
  void* object_;
  void (*call_)(void*, std::span<const uint8_t>) noexcept;
};

void segment_tso(std::span<const uint8_t> packet, const TxContext& context, bool ixsm, bool txsm,
                 std::vector<uint8_t>& scratch, SegmentSink emit) noexcept;

}  // namespace keel::devices::e1000
