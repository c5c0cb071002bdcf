// The --disk option: `path=IMG[,readonly=on|off][,direct=on|off][,serial=STR]`
// (QEMU-like key=value list). Values cannot contain commas.
#pragma once

#include <string>
#include <string_view>

namespace keel::virtio::blk {

struct DiskSpec {
  std::string path;
  bool readonly = false;
  bool direct = false;   // O_DIRECT: bypass the host page cache
  std::string serial;    // VIRTIO_BLK_T_GET_ID answer, at most 20 bytes
};

// Throws keel::ConfigError with a one-line message naming what is wrong.
DiskSpec parse_disk_spec(std::string_view text);

}  // namespace keel::virtio::blk
