// `--result-json FILE`: the boot test for scripts. Fields:
//   status        "passed" | "failed"
//   reason        all_expectations_met | failure_matched | timeout |
//                 guest_exited_early | guest_exited | vm_error | interrupted
//   exit_status   keel's exit status
//   summary       the one-line summary keel prints on stderr
//   duration_s    seconds from the harness start to the VM's end
//   timeout_s     the --timeout in seconds, or null
//   vm            {"end": stopped_by_harness | guest_stopped | vm_error |
//                  interrupted, "exit_status": n, "description": "..."}
//   expectations  [{"index": 1, "pattern", "met", "line", "line_number",
//                   "time_s", "partial"}] (the last four null when unmet)
//   fail_on       ["pattern", ...]
//   failure       {"pattern", "line", "line_number", "time_s"} or null
//   last_lines    ["...", ...] oldest first
// Console text is made valid UTF-8 ("\xNN" for bytes that are not).
#pragma once

#include <string>

#include "src/harness/harness_result.h"

namespace keel::harness {

std::string result_json(const HarnessResult& result);

}  // namespace keel::harness
