#include "src/harness/junit_report.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <stdexcept>

#include "src/harness/duration.h"
#include "src/harness/text_escape.h"

namespace keel::harness {
namespace {

using std::chrono::nanoseconds;

std::string attr(std::string_view bytes) { return to_xml_text(bytes, /*in_attribute=*/true); }
std::string text(std::string_view bytes) { return to_xml_text(bytes, /*in_attribute=*/false); }
std::string seconds(nanoseconds d) { return fmt::format("{:.6f}", to_seconds(d)); }

struct Case {
  std::string name;
  nanoseconds time{0};
  // Empty kind: passed. Otherwise "failure" or "error".
  std::string kind;
  std::string type;
  std::string message;
  std::string body;
};

std::string last_lines_text(const HarnessResult& r) {
  std::string body;
  for (const std::string& line : r.last_lines) body += line + "\n";
  return body;
}

// Why the first unmet expectation was not met, one line.
std::string why_unmet(const HarnessResult& r) {
  const std::string after = format_duration(r.duration);
  const std::string how = r.vm_end.description.empty() ? "" : " (" + to_one_line(r.vm_end.description) + ")";
  switch (r.reason) {
    case Reason::timeout: return "timeout after " + format_duration(r.timeout.value_or(r.duration));
    case Reason::failure_matched:
      if (!r.failure) return "a --fail-on pattern matched first";
      return fmt::format("--fail-on '{}' matched console line {} first", to_one_line(r.failure->pattern),
                         r.failure->match.line_number);
    case Reason::guest_exited_early:
    case Reason::guest_exited: return "the guest stopped" + how + " after " + after;
    case Reason::vm_error: return "VM error" + how + " after " + after;
    case Reason::interrupted: return "interrupted" + how + " after " + after;
    case Reason::all_expectations_met: break;
  }
  return "not met";
}

std::vector<Case> make_cases(const HarnessResult& r) {
  std::vector<Case> cases;
  const auto first_unmet = r.first_unmet();
  nanoseconds previous{0};
  for (size_t i = 0; i < r.expectations.size(); ++i) {
    const ExpectationResult& e = r.expectations[i];
    Case c;
    c.name = fmt::format("expect {}: {}", i + 1, e.pattern);
    if (e.match) {
      c.time = e.match->at - previous;
      previous = e.match->at;
    } else if (first_unmet && i == *first_unmet) {
      c.time = r.duration - previous;
      c.kind = r.reason == Reason::vm_error ? "error" : "failure";
      c.type = std::string(reason_name(r.reason));
      c.message = "not met: " + why_unmet(r);
      c.body = last_lines_text(r);
    } else {
      c.kind = "failure";
      c.type = "not_reached";
      c.message = fmt::format("not reached: expectation {} was not met", *first_unmet + 1);
    }
    cases.push_back(std::move(c));
  }

  Case no_failure;
  no_failure.name = "no --fail-on pattern matched";
  no_failure.time = r.duration;
  if (r.failure) {
    const FailureResult& f = *r.failure;
    no_failure.kind = "failure";
    no_failure.type = "failure_matched";
    no_failure.message = fmt::format("'{}' matched console line {} at {}", to_one_line(f.pattern),
                                     f.match.line_number, format_duration(f.match.at));
    no_failure.body = f.match.line + "\n";
  }
  cases.push_back(std::move(no_failure));

  Case verdict;
  verdict.name = "verdict";
  verdict.time = r.duration;
  if (!r.passed()) {
    verdict.kind = r.reason == Reason::vm_error ? "error" : "failure";
    verdict.type = std::string(reason_name(r.reason));
    verdict.message = fmt::format("exit status {}: {}", r.exit_status, summary_line(r));
    verdict.body = last_lines_text(r);
  }
  cases.push_back(std::move(verdict));
  return cases;
}

}  // namespace

std::string junit_xml(const HarnessResult& r, std::string_view suite_name) {
  const std::vector<Case> cases = make_cases(r);
  size_t failures = 0;
  size_t errors = 0;
  for (const Case& c : cases) {
    failures += c.kind == "failure";
    errors += c.kind == "error";
  }
  const std::string suite = attr(suite_name);
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">\n", suite,
                     cases.size(), failures, errors, seconds(r.duration));
  xml += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{}\">\n",
                     suite, cases.size(), failures, errors, seconds(r.duration));
  xml += "    <properties>\n";
  xml += fmt::format("      <property name=\"reason\" value=\"{}\"/>\n", reason_name(r.reason));
  xml += fmt::format("      <property name=\"exit_status\" value=\"{}\"/>\n", r.exit_status);
  if (r.timeout) xml += fmt::format("      <property name=\"timeout\" value=\"{}\"/>\n", seconds(*r.timeout));
  for (const std::string& pattern : r.fail_on) {
    xml += fmt::format("      <property name=\"fail_on\" value=\"{}\"/>\n", attr(pattern));
  }
  xml += "    </properties>\n";
  for (const Case& c : cases) {
    const std::string open =
        fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"", suite, attr(c.name), seconds(c.time));
    if (c.kind.empty()) {
      xml += open + "/>\n";
      continue;
    }
    xml += open + ">\n";
    xml += fmt::format("      <{} type=\"{}\" message=\"{}\">{}</{}>\n", c.kind, attr(c.type), attr(c.message),
                       text(c.body), c.kind);
    xml += "    </testcase>\n";
  }
  xml += "    <system-out>" + text(last_lines_text(r)) + "</system-out>\n";
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

void write_report_file(std::string_view flag, const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (out) out.close();
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write {} file '{}': {}", flag, path.string(), std::strerror(errno)));
  }
}

}  // namespace keel::harness
