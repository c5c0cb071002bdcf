// The boot-test harness as the machine uses it: one object that watches the
// console (ConsoleWatcher), writes --console-log as lines arrive, and at the
// end writes --junit and --result-json and gives keel's exit status and the
// one-line summary. See docs/boot-tests.md and README.md here.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "keel/clock.h"
#include "src/harness/console_log.h"
#include "src/harness/console_watcher.h"
#include "src/harness/harness_options.h"
#include "src/harness/harness_result.h"
#include "src/harness/report_file.h"

namespace keel::harness {

class BootTest {
 public:
  using State = ConsoleWatcher::State;

  // Checks everything the user gave before the VM starts, each a one-line
  // ConfigError: the regexes, that the --junit/--result-json directories
  // exist (their directories are opened now, so the reports land there
  // even after a --chroot), and opens (truncates) the --console-log file.
  // Time zero is now.
  // `clock` must outlive the BootTest.
  explicit BootTest(const HarnessOptions& options, const Clock& clock = system_clock());

  // Called once when the test is decided (all met, failure, timeout), on
  // the feeding/timer thread: stop the VM from here.
  void set_on_decided(std::function<void(State)> on_decided) { watcher_.set_on_decided(std::move(on_decided)); }

  // Console output (a Console observer). Never throws.
  void feed(std::span<const std::byte> bytes) noexcept { watcher_.feed(bytes); }

  // --timeout: the monotonic deadline to arm a timer for; call
  // check_deadline() when it fires (true: timed out now).
  std::optional<std::chrono::nanoseconds> deadline() const noexcept { return watcher_.deadline(); }
  bool check_deadline() noexcept { return watcher_.check_deadline(); }
  State state() const { return watcher_.state(); }

  // After the VM has stopped: the result, with --console-log closed and
  // --junit/--result-json written. A report that cannot be written is
  // logged and turns a passing exit status into kExitVmError (1).
  HarnessResult finish(const VmEnd& end);

 private:
  HarnessOptions options_;
  std::unique_ptr<ConsoleLog> console_log_;
  std::unique_ptr<ReportFile> junit_file_;
  std::unique_ptr<ReportFile> result_json_file_;
  ConsoleWatcher watcher_;
};

}  // namespace keel::harness
