// HarnessResults for the report tests, built the way ConsoleWatcher builds
// them.
#pragma once

#include "src/harness/harness_result.h"

namespace keel::harness::fixtures {

using namespace std::chrono_literals;

inline LineMatch line(std::string text, uint64_t number, std::chrono::nanoseconds at) {
  return LineMatch{.line = std::move(text), .line_number = number, .at = at, .partial = false};
}

// Three expectations, the first met at 1.5s, then a timeout at 30s.
inline HarnessResult timed_out() {
  HarnessResult r;
  r.reason = Reason::timeout;
  r.exit_status = kExitTimeout;
  r.expectations = {{"Linux version", line("Linux version 6.1.0", 1, 1500ms)}, {"login:", std::nullopt},
                    {"\\$ $", std::nullopt}};
  r.fail_on = {"Kernel panic"};
  r.last_lines = {"Linux version 6.1.0", "Run /init as init process"};
  r.duration = 30s;
  r.timeout = 30s;
  r.vm_end = VmEnd{.kind = VmEndKind::stopped_by_harness, .exit_status = 0, .description = {}};
  return r;
}

inline HarnessResult all_met() {
  HarnessResult r;
  r.reason = Reason::all_expectations_met;
  r.exit_status = kExitPassed;
  r.expectations = {{"Linux version", line("Linux version 6.1.0", 1, 1s)},
                    {"x86/fpu:", line("x86/fpu: x87 FPU will use FXSAVE", 120, 27250ms)}};
  r.fail_on = {"Kernel panic", "Oops"};
  r.last_lines = {"x86/fpu: x87 FPU will use FXSAVE"};
  r.duration = 27300ms;
  r.vm_end = VmEnd{.kind = VmEndKind::stopped_by_harness, .exit_status = 0, .description = {}};
  return r;
}

}  // namespace keel::harness::fixtures
