// --qmp unix:PATH[,server=on][,wait=off] and --qmp-fd N: where keel serves
// QMP (src/qmp). QEMU's chardev syntax, the server side only.
#pragma once

#include <string_view>

#include "src/vmm/machine_config.h"

namespace keel::cli {

// `unix:PATH` listens on PATH. Options, QEMU's spelling: `server` /
// `server=on` (keel is always the server; `server=off`, QEMU's client mode,
// is refused), `wait=on|off` / `nowait`. As in QEMU, `server=on` without
// `wait=off` waits for the first client before the guest starts; a bare
// `unix:PATH` (which QEMU would take as a client) listens without waiting.
// Throws ConfigError naming the bad value and what is allowed.
vmm::QmpSpec parse_qmp_spec(std::string_view text);

// --qmp-fd N: N must be an open stream socket (checked with fstat and
// SO_TYPE). Throws ConfigError otherwise.
void check_qmp_fd(int fd);

}  // namespace keel::cli
