// The embedded default guest: the probe guest ELF (tests/guest), booted by
// `keel run` when no --kernel is given, with the command line "demo".
#pragma once

#include <cstddef>
#include <span>

namespace keel::vmm {

std::span<const std::byte> default_guest_image() noexcept;
inline constexpr const char* kDefaultGuestCmdline = "demo";

}  // namespace keel::vmm
