#include "src/harness/boot_test.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <system_error>
#include <unistd.h>

#include "keel/config_error.h"
#include "src/harness/json_report.h"
#include "src/harness/junit_report.h"

namespace keel::harness {
namespace {

// A report is written when the VM ends, possibly after a long run: check
// now that it can be created, so a typo fails in the first second.
void check_report_path(std::string_view flag, const std::optional<std::filesystem::path>& path) {
  if (!path) return;
  if (path->empty()) throw ConfigError(fmt::format("{}: empty file name", flag));
  std::error_code ec;
  if (std::filesystem::is_directory(*path, ec)) {
    throw ConfigError(fmt::format("{} '{}': is a directory", flag, path->string()));
  }
  const std::filesystem::path parent = path->has_parent_path() ? path->parent_path() : ".";
  if (!std::filesystem::is_directory(parent, ec)) {
    throw ConfigError(fmt::format("{} '{}': directory '{}' does not exist", flag, path->string(), parent.string()));
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    throw ConfigError(fmt::format("{} '{}': directory '{}' is not writable", flag, path->string(), parent.string()));
  }
}

ConsoleWatcher::Options watcher_options(const HarnessOptions& options) {
  return ConsoleWatcher::Options{.expect = options.expect, .fail_on = options.fail_on, .timeout = options.timeout,
                                 .keep_lines = ConsoleWatcher::kDefaultKeepLines};
}

}  // namespace

BootTest::BootTest(const HarnessOptions& options, const Clock& clock)
    : options_(options), watcher_(watcher_options(options), clock) {
  check_report_path("--junit", options_.junit);
  check_report_path("--result-json", options_.result_json);
  if (options_.junit) junit_file_ = std::make_unique<ReportFile>("--junit", *options_.junit);
  if (options_.result_json) result_json_file_ = std::make_unique<ReportFile>("--result-json", *options_.result_json);
  if (options_.console_log) {
    console_log_ = std::make_unique<ConsoleLog>(*options_.console_log, options_.console_log_max_size);
    watcher_.set_line_sink([log = console_log_.get()](std::string_view line, std::chrono::nanoseconds started) {
      log->write_line(line, started);
    });
  }
}

HarnessResult BootTest::finish(const VmEnd& end) {
  HarnessResult result = watcher_.finish(end);
  bool reports_ok = true;
  if (console_log_) reports_ok = console_log_->close() && reports_ok;
  const auto write = [&](const std::unique_ptr<ReportFile>& file, auto make_text) {
    if (!file) return;
    try {
      file->write(make_text());
    } catch (const std::exception& error) {
      spdlog::error("{}", error.what());
      reports_ok = false;
    }
  };
  write(result_json_file_, [&] { return result_json(result); });
  write(junit_file_, [&] { return junit_xml(result); });
  if (!reports_ok && result.exit_status == kExitPassed) result.exit_status = kExitVmError;
  return result;
}

}  // namespace keel::harness
