// keel's entry point: parse the command line, set up logging, run the
// machine, and turn every failure into one line on stderr and a status.
#include <signal.h>

#include <cstdio>
#include <exception>
#include <string>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "src/cli/capped_file_sink.h"
#include "src/cli/command_line.h"
#include "src/vmm/machine.h"

namespace {

void print_error(const std::string& message) {
  std::string line = message;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  fmt::print(stderr, "keel: {}\n", line);
}

void set_up_logging(const keel::cli::LogOptions& options) {
  std::shared_ptr<spdlog::logger> logger;
  if (options.file) {
    try {
      auto sink = std::make_shared<keel::cli::CappedFileSink>(options.file->string(), options.file_max_size);
      logger = std::make_shared<spdlog::logger>("keel", std::move(sink));
    } catch (const spdlog::spdlog_ex& e) {
      throw keel::ConfigError(fmt::format("--log-file '{}': {}", options.file->string(), e.what()));
    }
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] [%t] %v");
    logger->flush_on(spdlog::level::warn);
  } else {
    logger = spdlog::stderr_color_mt("keel");
    // "\n" is enough even when the stdio console has the terminal in raw
    // mode: output post-processing stays on there.
    logger->set_pattern("keel: %^%l%$: %v");
  }
  logger->set_level(options.level);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace

int main(int argc, char** argv) {
  // A console client or stdout reader that goes away must become a failed
  // write (handled, logged), not a silent death by SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  const keel::cli::ParseOutcome outcome = keel::cli::parse_command_line(argc, argv);
  if (outcome.ctl) return keel::ctl::run_ctl(*outcome.ctl, stdout, stderr);
  if (outcome.import_xml) return keel::import_xml::run_import_xml(*outcome.import_xml, stdout, stderr);
  if (!outcome.config) {
    std::fputs(outcome.output.c_str(), stdout);
    std::fputs(outcome.usage.c_str(), stderr);
    if (!outcome.error.empty()) print_error(outcome.error);
    return outcome.exit_status;
  }
  try {
    set_up_logging(outcome.log);
    return keel::vmm::run_machine(*outcome.config);
  } catch (const keel::ConfigError& e) {
    print_error(e.what());
  } catch (const std::exception& e) {
    print_error(e.what());
  }
  spdlog::shutdown();
  return keel::cli::kExitError;
}
