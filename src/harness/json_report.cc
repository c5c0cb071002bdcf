#include "src/harness/json_report.h"

#include <nlohmann/json.hpp>

#include "src/harness/duration.h"
#include "src/harness/text_escape.h"

namespace keel::harness {
namespace {

using nlohmann::json;

std::string_view vm_end_name(VmEndKind kind) {
  switch (kind) {
    case VmEndKind::stopped_by_harness: return "stopped_by_harness";
    case VmEndKind::guest_stopped: return "guest_stopped";
    case VmEndKind::vm_error: return "vm_error";
    case VmEndKind::interrupted: return "interrupted";
  }
  return "unknown";
}

}  // namespace

std::string result_json(const HarnessResult& r) {
  json doc;
  doc["status"] = r.passed() ? "passed" : "failed";
  doc["reason"] = reason_name(r.reason);
  doc["exit_status"] = r.exit_status;
  doc["summary"] = summary_line(r);  // already valid UTF-8, one line
  doc["duration_s"] = to_seconds(r.duration);
  doc["timeout_s"] = r.timeout ? json(to_seconds(*r.timeout)) : json(nullptr);
  doc["vm"] = {{"end", vm_end_name(r.vm_end.kind)},
               {"exit_status", r.vm_end.exit_status},
               {"description", to_valid_utf8(r.vm_end.description)}};

  json expectations = json::array();
  for (size_t i = 0; i < r.expectations.size(); ++i) {
    const ExpectationResult& e = r.expectations[i];
    json item = {{"index", i + 1}, {"pattern", to_valid_utf8(e.pattern)}, {"met", e.match.has_value()}};
    if (e.match) {
      item["line"] = to_valid_utf8(e.match->line);
      item["line_number"] = e.match->line_number;
      item["time_s"] = to_seconds(e.match->at);
      item["partial"] = e.match->partial;
    } else {
      item["line"] = item["line_number"] = item["time_s"] = item["partial"] = nullptr;
    }
    expectations.push_back(std::move(item));
  }
  doc["expectations"] = std::move(expectations);

  json fail_on = json::array();
  for (const std::string& pattern : r.fail_on) fail_on.push_back(to_valid_utf8(pattern));
  doc["fail_on"] = std::move(fail_on);

  if (r.failure) {
    doc["failure"] = {{"pattern", to_valid_utf8(r.failure->pattern)},
                      {"line", to_valid_utf8(r.failure->match.line)},
                      {"line_number", r.failure->match.line_number},
                      {"time_s", to_seconds(r.failure->match.at)}};
  } else {
    doc["failure"] = nullptr;
  }

  json last_lines = json::array();
  for (const std::string& line : r.last_lines) last_lines.push_back(to_valid_utf8(line));
  doc["last_lines"] = std::move(last_lines);
  // Everything is valid UTF-8 by now; `replace` is a second line of defence
  // so a bug here can never make dump() throw.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace keel::harness
