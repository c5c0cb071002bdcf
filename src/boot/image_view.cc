#include "src/boot/image_view.h"

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::boot {

uint64_t ImageView::read_le(uint64_t offset, unsigned width, std::string_view what) const {
  auto value = try_read_le(offset, width);
  if (!value) fail(fmt::format("truncated {}", what));
  return *value;
}

std::span<const std::byte> ImageView::slice(uint64_t offset, uint64_t length, std::string_view what) const {
  if (!contains(offset, length)) {
    fail(fmt::format("{} at file offset {:#x} (+{:#x} bytes) lies past the end of the file ({:#x} bytes)", what,
                     offset, length, size()));
  }
  return bytes_.subspan(offset, length);
}

void ImageView::fail(std::string_view message) const {
  throw ConfigError(fmt::format("{}: {}", label_, message));
}

void ImageView::reject(std::string_view predicate) const {
  throw ConfigError(fmt::format("{} {}", label_, predicate));
}

}  // namespace keel::boot
