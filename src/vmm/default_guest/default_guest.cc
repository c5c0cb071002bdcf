#include "src/vmm/default_guest/default_guest.h"

extern "C" const std::byte keel_default_guest_start[];
extern "C" const std::byte keel_default_guest_end[];

namespace keel::vmm {

std::span<const std::byte> default_guest_image() noexcept {
  return {keel_default_guest_start, keel_default_guest_end};
}

}  // namespace keel::vmm
