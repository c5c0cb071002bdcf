// Internet checksums (RFC 1071) and the Ethernet FCS, on plain byte spans.
// Pure functions: the tx path inserts checksums with them, the rx path
// verifies them and appends the FCS when the guest keeps CRCs (RCTL.SECRC=0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace keel::devices::e1000 {

// Ones' complement sum of big-endian 16-bit words (odd tail padded with a
// zero byte), added to `initial`, not folded.
uint32_t ones_sum(std::span<const uint8_t> bytes, uint32_t initial = 0) noexcept;
// Folds a sum to 16 bits (carries added back).
uint16_t fold(uint32_t sum) noexcept;
// IEEE 802.3 CRC-32 of a frame (what goes in its FCS, little-endian).
uint32_t ethernet_crc32(std::span<const uint8_t> bytes) noexcept;

inline uint16_t load_be16(std::span<const uint8_t> bytes, size_t offset) noexcept {
  return static_cast<uint16_t>(bytes[offset] << 8 | bytes[offset + 1]);
}
inline uint32_t load_be32(std::span<const uint8_t> bytes, size_t offset) noexcept {
  return uint32_t{load_be16(bytes, offset)} << 16 | load_be16(bytes, offset + 2);
}
inline void store_be16(std::span<uint8_t> bytes, size_t offset, uint16_t value) noexcept {
  bytes[offset] = static_cast<uint8_t>(value >> 8);
  bytes[offset + 1] = static_cast<uint8_t>(value);
}
inline void store_be32(std::span<uint8_t> bytes, size_t offset, uint32_t value) noexcept {
  store_be16(bytes, offset, static_cast<uint16_t>(value >> 16));
  store_be16(bytes, offset + 2, static_cast<uint16_t>(value));
}

}  // namespace keel::devices::e1000
