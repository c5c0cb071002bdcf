// The `keel` command line: turns argv into a MachineConfig (plus logging
// options), or into "print this and exit with that status".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/common.h>

#include "src/ctl/ctl_command.h"
#include "src/import_xml/import_command.h"
#include "src/vmm/machine_config.h"

namespace keel::cli {

struct LogOptions {
  spdlog::level::level_enum level = spdlog::level::warn;
  std::optional<std::filesystem::path> file;  // nullopt: stderr
  uint64_t file_max_size = 1ull << 30;         // --log-file PATH,max-size=SIZE (default 1 GiB)
};

// Exit statuses of keel itself (the guest decides the others: see README.md).
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitError = 1;  // bad usage, bad configuration, host problem

struct ParseOutcome {
  // Set: run this machine. Unset: print `output` on stdout, `usage` and then
  // `error` (one line, main adds "keel: ") on stderr, and exit `exit_status`.
  std::optional<vmm::MachineConfig> config;
  std::optional<ctl::CtlOptions> ctl;  // set: main runs `keel ctl` (ctl::run_ctl) instead
  std::optional<import_xml::ImportOptions> import_xml;  // set: main runs `keel import-xml` instead
  LogOptions log;
  int exit_status = kExitSuccess;
  std::string output;  // --help, --version
  std::string usage;   // help shown after a usage error (keel with no command)
  std::string error;
};

// Never throws for bad input: every problem becomes an outcome with
// exit_status kExitError and a one-line error naming the flag.
ParseOutcome parse_command_line(int argc, const char* const* argv);
inline ParseOutcome parse_command_line(int argc, char** argv) {
  return parse_command_line(argc, const_cast<const char* const*>(argv));
}

// The pieces, for tests. Each throws keel::ConfigError with the message the
// user sees.

// "512M", "2G", "4096K", "1T" (binary units, either case) or a plain number
// of MiB, like QEMU's -m. Returns bytes; zero and overflow are errors.
uint64_t parse_memory_size(std::string_view text);

// "anonymous", "memfd" or "hugetlbfs:DIR" into memory.backing (and the
// hugetlbfs directory); ConfigError otherwise.
void parse_memory_backing(std::string_view text, MemoryConfig& memory);

// "a,b,shift-c,ret": comma-separated keys; each is one or more QKeyCode
// names joined by '-' (pressed together). Checks the spelling only; the
// machine builder must check the names against the keyboard's table.
std::vector<std::string> parse_key_list(std::string_view text);

// An existing, readable regular file, or a ConfigError naming `flag`.
void check_readable_file(std::string_view flag, const std::filesystem::path& path);

}  // namespace keel::cli
