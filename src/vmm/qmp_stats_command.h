// QMP's x-keel-stats (issue 10 item 4): keel's exit statistics, summed over
// the vCPUs at the moment of the call. Not a QEMU command (hence the x-
// prefix); the JSON shape is src/stats/stats_report.h's, documented in
// docs/management.md.
#pragma once

#include <functional>

#include "keel/exit_stats.h"
#include "src/qmp/command_registry.h"

namespace keel::vmm {

// `stats` may return null (statistics not set up): the command then
// answers GenericError.
void register_stats_command(qmp::CommandRegistry& registry, std::function<const ExitStats*()> stats);

}  // namespace keel::vmm
