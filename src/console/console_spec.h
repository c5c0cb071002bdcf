// Parsing of --serial values: stdio, file:PATH[,max-size=SIZE], pty,
// unix:PATH, none.
#pragma once

#include <string_view>

#include "src/vmm/machine_config.h"

namespace keel::console {

// Throws ConfigError naming the bad value.
vmm::ConsoleSpec parse_console_spec(std::string_view text);

}  // namespace keel::console
