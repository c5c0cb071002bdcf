// Bounds-checked little-endian reads from a kernel image held in host
// memory. Every offset and size in an image comes from the file and is
// untrusted: these helpers never read outside the image and never let
// offset + length wrap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace keel::boot {

class ImageView {
 public:
  // `label` names the image in error messages, e.g. "kernel '/x'".
  ImageView(std::span<const std::byte> bytes, std::string label)
      : bytes_(bytes), label_(std::move(label)) {}

  uint64_t size() const noexcept { return bytes_.size(); }
  std::span<const std::byte> bytes() const noexcept { return bytes_; }
  const std::string& label() const noexcept { return label_; }

  // True when [offset, offset + length) lies inside the image.
  bool contains(uint64_t offset, uint64_t length) const noexcept {
    return offset <= bytes_.size() && length <= bytes_.size() - offset;
  }

  std::optional<uint64_t> try_read_le(uint64_t offset, unsigned width) const noexcept {
    if (!contains(offset, width)) return std::nullopt;
    uint64_t value = 0;
    for (unsigned i = 0; i < width; ++i) {
      value |= static_cast<uint64_t>(bytes_[offset + i]) << (8 * i);
    }
    return value;
  }

  // Reads that throw ConfigError("<label>: truncated <what>") when the field
  // lies past the end of the image.
  uint8_t u8(uint64_t offset, std::string_view what) const { return static_cast<uint8_t>(read_le(offset, 1, what)); }
  uint16_t u16(uint64_t offset, std::string_view what) const { return static_cast<uint16_t>(read_le(offset, 2, what)); }
  uint32_t u32(uint64_t offset, std::string_view what) const { return static_cast<uint32_t>(read_le(offset, 4, what)); }
  uint64_t u64(uint64_t offset, std::string_view what) const { return read_le(offset, 8, what); }

  // [offset, offset + length) of the image, or ConfigError naming `what`.
  std::span<const std::byte> slice(uint64_t offset, uint64_t length, std::string_view what) const;

  // ConfigError("<label>: <message>"), e.g. "kernel '/x': truncated setup header".
  [[noreturn]] void fail(std::string_view message) const;
  // ConfigError("<label> <predicate>"), e.g. "kernel '/x' is empty".
  [[noreturn]] void reject(std::string_view predicate) const;

 private:
  uint64_t read_le(uint64_t offset, unsigned width, std::string_view what) const;

  std::span<const std::byte> bytes_;
  std::string label_;
};

}  // namespace keel::boot
