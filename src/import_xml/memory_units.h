// libvirt's memory sizes (<memory unit='MiB'>2048</memory>) and their
// spelling for keel's --memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::import_xml {

// `value` (decimal digits, surrounding blanks allowed) scaled by libvirt's
// `unit`: empty means KiB (libvirt's default); b/bytes; k/KiB, m/MiB, g/GiB,
// t/TiB, p/PiB, e/EiB (powers of 1024); KB, MB, GB, TB, PB, EB (powers of
// 1000). The letter may be either case. Throws ConfigError without a path
// ("unit 'XB' is not known (allowed: ...)", "'12a' is not a number",
// "... does not fit in 64 bits").
uint64_t parse_libvirt_size(std::string_view value, std::string_view unit);

// The largest exact keel unit: "2G", "1536M", "4100K". Throws ConfigError
// unless `bytes` is a positive multiple of 4 KiB (keel's guest page).
std::string keel_memory_text(uint64_t bytes);

}  // namespace keel::import_xml
