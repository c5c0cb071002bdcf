#include "src/vmm/qmp_stats_command.h"

#include "src/stats/stats_report.h"

namespace keel::vmm {

void register_stats_command(qmp::CommandRegistry& registry, std::function<const ExitStats*()> stats) {
  registry.add("x-keel-stats", {}, [stats = std::move(stats)](const qmp::Json&) -> qmp::CommandResult {
    const ExitStats* source = stats();
    if (source == nullptr) return qmp::generic_error("exit statistics are not available");
    return stats::to_json(source->snapshot());
  });
}

}  // namespace keel::vmm
