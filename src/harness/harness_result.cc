#include "src/harness/harness_result.h"

#include <algorithm>
#include <fmt/format.h>

#include "src/harness/duration.h"
#include "src/harness/text_escape.h"

namespace keel::harness {

std::string_view reason_name(Reason reason) noexcept {
  switch (reason) {
    case Reason::all_expectations_met: return "all_expectations_met";
    case Reason::failure_matched: return "failure_matched";
    case Reason::timeout: return "timeout";
    case Reason::guest_exited_early: return "guest_exited_early";
    case Reason::guest_exited: return "guest_exited";
    case Reason::vm_error: return "vm_error";
    case Reason::interrupted: return "interrupted";
  }
  return "unknown";
}

std::optional<size_t> HarnessResult::first_unmet() const noexcept {
  for (size_t i = 0; i < expectations.size(); ++i) {
    if (!expectations[i].match) return i;
  }
  return std::nullopt;
}

int exit_status_for(Reason reason, int vm_exit_status) noexcept {
  switch (reason) {
    case Reason::all_expectations_met: return kExitPassed;
    case Reason::failure_matched: return kExitFailureMatched;
    case Reason::timeout: return kExitTimeout;
    case Reason::guest_exited_early: return kExitUnmet;
    case Reason::vm_error: return kExitVmError;
    // Without expectations the guest's own status is the answer (a test
    // guest reporting through the debug-exit port); a signal keeps 130/143.
    case Reason::guest_exited:
    case Reason::interrupted: return vm_exit_status;
  }
  return kExitVmError;
}

namespace {

// fmt rather than "'" + string + "'": GCC 12 at -O3 (Release) reports a
// false -Wrestrict overlap in the inlined operator+ chain.
std::string quoted(std::string_view bytes) { return fmt::format("'{}'", to_one_line(bytes, 120)); }

// "expectation 2/3 'login:'"
std::string unmet_expectation(const HarnessResult& r) {
  const auto index = r.first_unmet();
  if (!index) return "";
  return fmt::format("expectation {}/{} {}", *index + 1, r.expectations.size(), quoted(r.expectations[*index].pattern));
}

std::string last_lines(const HarnessResult& r, size_t max_lines) {
  if (r.last_lines.empty() || max_lines == 0) return "last console lines: (none)";
  const size_t first = r.last_lines.size() - std::min(max_lines, r.last_lines.size());
  std::string text = "last console lines: ";
  for (size_t i = first; i < r.last_lines.size(); ++i) {
    if (i != first) text += " | ";
    text += to_one_line(r.last_lines[i], 160);
  }
  return text;
}

// "(power-off)" from the VM's description, or nothing.
std::string how_it_ended(const VmEnd& end) {
  if (end.description.empty()) return "";
  return " (" + to_one_line(end.description, 200) + ")";
}

}  // namespace

std::string summary_line(const HarnessResult& r, size_t max_lines) {
  const std::string took = format_duration(r.duration);
  const std::string unmet = unmet_expectation(r);
  const std::string before_unmet = unmet.empty() ? "" : " before " + unmet + " was met";
  switch (r.reason) {
    case Reason::all_expectations_met:
      return fmt::format("keel: all {} expectation{} met in {}", r.expectations.size(),
                         r.expectations.size() == 1 ? "" : "s", took);
    case Reason::failure_matched: {
      if (!r.failure) return "keel: a --fail-on pattern matched; " + last_lines(r, max_lines);
      const FailureResult& f = *r.failure;
      const auto met = std::count_if(r.expectations.begin(), r.expectations.end(), [](const auto& e) { return e.match.has_value(); });
      return fmt::format("keel: --fail-on {} matched console line {} at {}: {}; {}/{} expectations met; {}",
                         quoted(f.pattern), f.match.line_number, format_duration(f.match.at), quoted(f.match.line),
                         met, r.expectations.size(), last_lines(r, max_lines));
    }
    case Reason::timeout: {
      const std::string limit = format_duration(r.timeout.value_or(r.duration));
      const std::string waiting = unmet.empty() ? " (the guest was still running)" : " waiting for " + unmet;
      return fmt::format("keel: timeout after {}{}; {}", limit, waiting, last_lines(r, max_lines));
    }
    case Reason::guest_exited_early:
      return fmt::format("keel: guest stopped{} after {}{}; {}", how_it_ended(r.vm_end), took, before_unmet,
                         last_lines(r, max_lines));
    case Reason::guest_exited:
      return fmt::format("keel: guest stopped{} after {} with status {}, no --fail-on pattern matched",
                         how_it_ended(r.vm_end), took, r.exit_status);
    case Reason::vm_error:
      return fmt::format("keel: VM error{} after {}{}; {}", how_it_ended(r.vm_end), took, before_unmet,
                         last_lines(r, max_lines));
    case Reason::interrupted:
      return fmt::format("keel: interrupted{} after {}{}; {}", how_it_ended(r.vm_end), took, before_unmet,
                         last_lines(r, max_lines));
  }
  return "keel: boot test ended";
}

}  // namespace keel::harness
