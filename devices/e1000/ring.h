// Descriptor ring geometry as the guest programs it (xDBAL/xDBAH/xDLEN,
// manual 13.4.27-13.4.29 and 13.4.38-13.4.40), checked before the device
// touches a descriptor: the base 16-byte aligned, the length a non-zero
// multiple of 128 bytes, and the whole ring inside one guest RAM region.
#pragma once

#include <cstdint>

#include "keel/gpa.h"
#include "keel/guest_memory.h"
#include "keel/result.h"

namespace keel::devices::e1000 {

inline constexpr uint64_t kDescriptorSize = 16;

struct RingGeometry {
  Gpa base{0};
  uint32_t size = 0;  // descriptors

  Gpa descriptor(uint32_t index) const noexcept { return Gpa{raw(base) + uint64_t{index} * kDescriptorSize}; }
  // Descriptors from `head` up to (not including) `tail`.
  uint32_t pending(uint32_t head, uint32_t tail) const noexcept { return (tail + size - head) % size; }
  uint32_t next(uint32_t index) const noexcept { return index + 1 == size ? 0 : index + 1; }
};

[[nodiscard]] inline Result<RingGeometry> ring_geometry(uint32_t base_low, uint32_t base_high, uint32_t length,
                                                        const GuestMemory& memory) noexcept {
  const uint64_t base = uint64_t{base_high} << 32 | base_low;
  if (base % kDescriptorSize != 0) return fail(Errc::invalid_argument, "ring base not 16-byte aligned");
  // xDLEN bits 19:7 hold the length; the rest reads as written but the
  // device never uses more than 2^20 bytes (65536 descriptors).
  if (length == 0 || length % 128 != 0 || length > (1u << 20)) {
    return fail(Errc::invalid_argument, "ring length not a non-zero multiple of 128 up to 1 MiB");
  }
  if (!memory.contains(Gpa{base}, length)) return fail(Errc::out_of_bounds, "ring outside guest RAM");
  return RingGeometry{Gpa{base}, static_cast<uint32_t>(length / kDescriptorSize)};
}

}  // namespace keel::devices::e1000
