// Exit statistics as text: the table `keel ctl stats` and --stats-on-exit
// print, and the JSON shape of QMP's x-keel-stats (docs/management.md).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "keel/exit_stats.h"

namespace keel::stats {

// Rows in snapshot order (sort_snapshot), then the per-reason and per-vCPU
// totals. Ends with a newline.
std::string format_table(const StatsSnapshot& snapshot);

// {"ranges": [{"bus", "base", "length", "device", "exits", "total-ns",
//  "mean-ns"}], "exit-reasons": [{"reason", "exits"}], "vcpus":
//  [{"cpu-index", "exits", "device-ns"}]}
nlohmann::ordered_json to_json(const StatsSnapshot& snapshot);

// The reverse, for keel ctl: throws std::invalid_argument naming the first
// missing or mistyped field. The result is sorted again (sort_snapshot).
StatsSnapshot from_json(const nlohmann::ordered_json& value);

}  // namespace keel::stats
