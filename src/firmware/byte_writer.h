// Little-endian byte building for firmware tables (ACPI, MP, AML): tables
// are assembled in host memory, checksummed, then copied into the guest in
// one checked write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace keel::firmware {

using Bytes = std::vector<uint8_t>;

class ByteWriter {
 public:
  void u8(uint8_t value) { bytes_.push_back(value); }
  void u16(uint16_t value) { put(value, 2); }
  void u32(uint32_t value) { put(value, 4); }
  void u64(uint64_t value) { put(value, 8); }
  void append(std::span<const uint8_t> data) { bytes_.insert(bytes_.end(), data.begin(), data.end()); }
  // `text` padded with spaces (or cut) to exactly `width` bytes: the fixed
  // ID fields of ACPI and MP tables.
  void fixed_text(std::string_view text, size_t width) {
    for (size_t i = 0; i < width; ++i) bytes_.push_back(i < text.size() ? static_cast<uint8_t>(text[i]) : ' ');
  }
  void zeros(size_t count) { bytes_.insert(bytes_.end(), count, 0); }

  void patch_u16(size_t offset, uint16_t value) { patch(offset, value, 2); }
  void patch_u32(size_t offset, uint32_t value) { patch(offset, value, 4); }
  void patch_u64(size_t offset, uint64_t value) { patch(offset, value, 8); }

  size_t size() const { return bytes_.size(); }
  Bytes& bytes() { return bytes_; }
  Bytes take() { return std::move(bytes_); }

 private:
  void put(uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
  void patch(size_t offset, uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes_.at(offset + i) = static_cast<uint8_t>(value >> (8 * i));
  }
  Bytes bytes_;
};

// The byte that makes `data` (with that byte counted as zero) sum to 0 mod
// 256: the checksum rule of ACPI and MP tables.
inline uint8_t checksum_byte(std::span<const uint8_t> data) {
  uint8_t sum = 0;
  for (uint8_t b : data) sum = static_cast<uint8_t>(sum + b);
  return static_cast<uint8_t>(0x100 - sum);
}

}  // namespace keel::firmware
