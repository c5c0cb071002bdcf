#include "devices/e1000/checksum.h"

#include <array>
#include <bit>
#include <cstring>

namespace keel::devices::e1000 {

uint32_t ones_sum(std::span<const uint8_t> bytes, uint32_t initial) noexcept {
  // 32-bit big-endian words into a 64-bit accumulator: the ones' complement
  // sum is the same as summing 16-bit words (RFC 1071 1.2.C, "parallel
  // summation"), and no carry is lost for any frame size here.
  uint64_t sum = initial;
  size_t i = 0;
  for (; i + 4 <= bytes.size(); i += 4) {
    uint32_t word;
    std::memcpy(&word, bytes.data() + i, 4);
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap32(word);
    sum += word;
  }
  for (; i + 1 < bytes.size(); i += 2) sum += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
  if (i < bytes.size()) sum += static_cast<uint32_t>(bytes[i] << 8);
  // Fold 64 -> 32 bits; the result folds to 16 bits like the plain sum.
  while (sum >> 32) sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  return static_cast<uint32_t>(sum);
}

uint16_t fold(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

namespace {
// Slicing-by-8 tables for the reflected IEEE polynomial: eight bytes per
// step, so the FCS of a full-size frame costs a few hundred nanoseconds.
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;
constexpr CrcTables make_crc_tables() noexcept {
  CrcTables tables{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    tables[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; ++n) {
    for (size_t t = 1; t < 8; ++t) tables[t][n] = (tables[t - 1][n] >> 8) ^ tables[0][tables[t - 1][n] & 0xFF];
  }
  return tables;
}
constexpr CrcTables kCrc = make_crc_tables();
}  // namespace

uint32_t ethernet_crc32(std::span<const uint8_t> bytes) noexcept {
  uint32_t crc = 0xFFFFFFFF;
  size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= bytes.size(); i += 8) {
      uint32_t low;
      uint32_t high;
      std::memcpy(&low, bytes.data() + i, 4);
      std::memcpy(&high, bytes.data() + i + 4, 4);
      low ^= crc;
      crc = kCrc[7][low & 0xFF] ^ kCrc[6][(low >> 8) & 0xFF] ^ kCrc[5][(low >> 16) & 0xFF] ^ kCrc[4][low >> 24] ^
            kCrc[3][high & 0xFF] ^ kCrc[2][(high >> 8) & 0xFF] ^ kCrc[1][(high >> 16) & 0xFF] ^ kCrc[0][high >> 24];
    }
  }
  for (; i < bytes.size(); ++i) crc = kCrc[0][(crc ^ bytes[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace keel::devices::e1000
