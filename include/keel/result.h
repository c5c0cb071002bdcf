// Result type for paths that a guest can drive: no exceptions, no allocation.
// Configuration errors at start-up use exceptions (keel::ConfigError) instead.
#pragma once

#include <expected>

namespace keel {

enum class Errc {
  out_of_bounds,     // address or range outside what it must lie in
  overflow,          // arithmetic on a guest/user value would wrap
  invalid_argument,  // zero length, bad alignment, bad size
  overlap,           // range collides with an existing one
  not_found,
  malformed,         // a structure (image, table, descriptor) is not well formed
  unsupported,
  io_error,
};

// `what` always points at a string literal, so Error is trivially copyable and
// creating one never allocates.
struct Error {
  Errc code;
  const char* what;
};

template <class T>
using Result = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(Errc code, const char* what) noexcept {
  return std::unexpected(Error{code, what});
}

}  // namespace keel
