// What a boot test came to when the VM ended: why, keel's exit status for
// it, each expectation with the line that met it, the failure line, the
// last console lines and the times. Made by ConsoleWatcher::finish(); the
// JUnit, JSON and one-line summary writers read it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::harness {

// keel's exit statuses when the harness is in use (any of --expect,
// --fail-on, --timeout). 1 stays "keel or the VM failed", as without the
// harness; 2-4 tell CI scripts what went wrong without parsing output.
inline constexpr int kExitPassed = 0;          // every --expect met (or none given and the guest exited 0)
inline constexpr int kExitVmError = 1;         // the VM failed (KVM internal/emulation error), or keel did
inline constexpr int kExitUnmet = 2;           // the guest stopped before every --expect was met
inline constexpr int kExitFailureMatched = 3;  // a --fail-on pattern matched
inline constexpr int kExitTimeout = 4;         // --timeout expired first

// How the VM ended, as the machine tells ConsoleWatcher::finish().
enum class VmEndKind {
  stopped_by_harness,  // keel stopped it because the watcher decided (on_decided)
  guest_stopped,       // the guest powered off, reset, triple-faulted or wrote the debug-exit port
  vm_error,            // keel could not run it on (KVM internal error, emulation failure, failed entry)
  interrupted,         // SIGINT/SIGTERM, Ctrl-A x
};

struct VmEnd {
  VmEndKind kind = VmEndKind::guest_stopped;
  // keel's exit status for this end without the harness: the debug-exit
  // value, 0 for power-off, 1 for an error, 130/143 for signals.
  int exit_status = 0;
  // One line for the user: "power-off", "debug exit 3", "KVM emulation
  // failure at rip 0x...". May be empty.
  std::string description;
};

enum class Reason {
  all_expectations_met,  // every --expect matched, in order
  failure_matched,       // a --fail-on pattern matched before that
  timeout,               // --timeout expired first
  guest_exited_early,    // the VM stopped on its own before every --expect was met
  guest_exited,          // no --expect given: the VM stopped on its own, nothing failed
  vm_error,              // the VM failed before every --expect was met
  interrupted,           // the user or a signal stopped keel first
};

std::string_view reason_name(Reason reason) noexcept;

// A console line a pattern matched.
struct LineMatch {
  std::string line;             // the raw bytes of the line (no terminator)
  uint64_t line_number = 0;     // 1-based console line
  std::chrono::nanoseconds at;  // since the harness started
  bool partial = false;         // matched before its line ended (a prompt); `line` is what had arrived
};

struct ExpectationResult {
  std::string pattern;
  std::optional<LineMatch> match;  // nullopt: not met
};

struct FailureResult {
  std::string pattern;
  size_t pattern_index = 0;  // into HarnessResult::fail_on
  LineMatch match;
};

struct HarnessResult {
  Reason reason = Reason::guest_exited;
  int exit_status = 0;
  std::vector<ExpectationResult> expectations;
  std::vector<std::string> fail_on;
  std::optional<FailureResult> failure;
  std::vector<std::string> last_lines;  // oldest first, raw bytes
  std::chrono::nanoseconds duration{0};  // harness start to finish()
  std::optional<std::chrono::nanoseconds> timeout;
  VmEnd vm_end;

  bool passed() const noexcept { return exit_status == kExitPassed; }
  // Index of the first expectation not met, if any.
  std::optional<size_t> first_unmet() const noexcept;
};

// keel's exit status for a reason: 0, 1-4 above, or the VM's own status
// (`vm_exit_status`) for guest_exited and interrupted.
int exit_status_for(Reason reason, int vm_exit_status) noexcept;

// One line for stderr, starting "keel: ", naming what happened: the unmet
// expectation ("2/3 'login:'"), the failure pattern and its line, how the
// VM ended, and the last `max_lines` console lines joined by " | ".
// Control characters and invalid UTF-8 are escaped, so it is one line.
std::string summary_line(const HarnessResult& result, size_t max_lines = 5);

}  // namespace keel::harness
