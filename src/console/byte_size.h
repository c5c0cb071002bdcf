// Sizes and size caps on the command line: "512M", "64K", "1G", "2T" (binary
// units, either case) or a plain number of MiB, as --memory takes them, and
// the `PATH[,max-size=SIZE]` form of the outputs keel writes to files
// (--serial file:, --console-log, --log-file), each capped so that a guest
// (or a chatty log level) cannot fill the host's disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::console {

// The cap each file output has unless max-size says otherwise: 1 GiB.
inline constexpr uint64_t kDefaultOutputMaxSize = 1ull << 30;

// Bytes for `text`; ConfigError "invalid {what} '{text}': expected a size
// like 512M or 4G" (or "... must not be zero", "... too large").
uint64_t parse_byte_size(std::string_view text, std::string_view what);

struct CappedPath {
  std::string path;
  uint64_t max_size = kDefaultOutputMaxSize;
};

// "PATH" or "PATH,max-size=SIZE". The first comma ends the path (such paths
// cannot contain commas). `flag` names the option in errors, e.g.
// "--console-log 'x,size=1': unknown option 'size' (expected max-size=SIZE)".
CappedPath parse_capped_path(std::string_view text, std::string_view flag);

// "1 GiB", "64 MiB", "4 KiB" when exact, else "1234567 bytes": for messages.
std::string format_byte_size(uint64_t bytes);

// The one line written at the end of a capped output when its cap is hit.
std::string truncation_note(std::string_view what, uint64_t max_size);

}  // namespace keel::console
