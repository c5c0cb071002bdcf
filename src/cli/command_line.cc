#include "src/cli/command_line.h"

#include <unistd.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <limits>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/cli/config_file.h"
#include "src/cli/qmp_spec.h"
#include "src/cli/regex_check.h"
#include "src/console/byte_size.h"
#include "src/console/console_spec.h"
#include "src/harness/duration.h"
#include "src/kvm/cpuid.h"
#include "src/net/net_spec.h"
#include "src/sandbox/privileges.h"
#include "src/sandbox/seccomp_mode.h"
#include "virtio/blk/disk_spec.h"

namespace keel::cli {
namespace {

constexpr uint32_t kMaxCpus = 64;
constexpr size_t kMaxKeys = 4096;

// What `keel run` collects before it is checked and turned into a config.
struct RunArguments {
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  std::string memory = "512M";
  std::string memory_backing = "anonymous";
  uint32_t cpus = 1;
  std::string serial = "stdio";
  std::string log_level = "warn";
  std::string log_file;
  uint16_t debug_exit_port = 0x501;
  std::string send_keys;
  std::string send_keys_after;
  std::string cpu_features;
  std::vector<std::string> expect;
  std::vector<std::string> fail_on;
  std::string timeout;
  std::string junit;
  std::string result_json;
  std::string console_log;
  std::vector<std::string> disks;
  std::vector<std::string> nets;
  std::string seccomp = "on";
  std::string user;
  std::string group;
  std::string chroot_dir;
  std::string qmp;
  int qmp_fd = -1;
  std::string name;
  bool stats_on_exit = false;
};

spdlog::level::level_enum parse_log_level(const std::string& name) {
  static const std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"off", spdlog::level::off},
  };
  for (const auto& [level_name, level] : kLevels) {
    if (name == level_name) return level;
  }
  throw ConfigError(fmt::format("invalid --log-level '{}': expected trace, debug, info, warn, error or off", name));
}

// The regexes are compiled (and so checked) when the machine makes its
// BootTest; here only their syntax, so a typo fails before KVM is touched.
harness::HarnessOptions build_harness_options(const RunArguments& args, CLI::App& run,
                                              const ConfigFileState& file) {
  harness::HarnessOptions options;
  const auto check_regexes = [&](std::string_view flag, const std::vector<std::string>& patterns) {
    for (size_t i = 0; i < patterns.size(); ++i) {
      file.attribute(
          flag.substr(2),
          [&] {
            if (const std::string why = regex_error_text(patterns[i]); !why.empty()) {
              throw ConfigError(fmt::format("invalid {} regex '{}': {}", flag, patterns[i], why));
            }
          },
          i);
    }
  };
  check_regexes("--expect", args.expect);
  check_regexes("--fail-on", args.fail_on);
  options.expect = args.expect;
  options.fail_on = args.fail_on;
  file.attribute("timeout", [&] {
    if (run.count("--timeout") > 0) options.timeout = harness::parse_duration(args.timeout, "--timeout");
  });
  if (run.count("--junit") > 0) options.junit = args.junit;
  if (run.count("--result-json") > 0) options.result_json = args.result_json;
  file.attribute("console-log", [&] {
    if (run.count("--console-log") == 0) return;
    const console::CappedPath log = console::parse_capped_path(args.console_log, "--console-log");
    options.console_log = log.path;
    options.console_log_max_size = log.max_size;
  });
  return options;
}

// --user/--group/--chroot. The reports are written after the drop, as the
// new user: refuse now a directory that user could not write to.
sandbox::PrivilegeOptions build_privileges(const RunArguments& args, CLI::App& run,
                                           const harness::HarnessOptions& harness, const ConfigFileState& file) {
  const auto given = [&](const char* flag, const std::string& value) {
    return run.count(flag) > 0 ? std::optional<std::string>(value) : std::nullopt;
  };
  // The three are checked together; an error is pinned on the first of them the file gave.
  const char* key = file.from_file("user") ? "user" : file.from_file("group") ? "group" : "chroot";
  sandbox::PrivilegeOptions privileges;
  file.attribute(key, [&] {
    privileges = sandbox::parse_privilege_options(given("--user", args.user), given("--group", args.group),
                                                  given("--chroot", args.chroot_dir), sandbox::held_capabilities());
  });
  if (!privileges.uid) return privileges;
  const auto check = [&](std::string_view flag, const std::optional<std::filesystem::path>& path) {
    if (!path) return;
    const std::filesystem::path parent = path->has_parent_path() ? path->parent_path() : ".";
    if (!sandbox::directory_writable_by(parent, *privileges.uid, *privileges.gid)) {
      throw ConfigError(fmt::format("{} '{}': keel writes it as --user {} (uid {}, gid {}), who cannot create files "
                                    "in '{}'",
                                    flag, path->string(), privileges.user_text, *privileges.uid, *privileges.gid,
                                    parent.string()));
    }
  };
  file.attribute("junit", [&] { check("--junit", harness.junit); });
  file.attribute("result-json", [&] { check("--result-json", harness.result_json); });
  return privileges;
}

// Each check runs inside file.attribute(KEY, ...): when KEY's value came
// from --config, its error names the value's JSON path in the file.
vmm::MachineConfig build_config(const RunArguments& args, CLI::App& run, const ConfigFileState& file) {
  vmm::MachineConfig config;
  file.attribute("kernel", [&] {
    if (run.count("--kernel") == 0) return;
    check_readable_file("--kernel", args.kernel);
    config.kernel = args.kernel;
  });
  file.attribute("initrd", [&] {
    if (run.count("--initrd") == 0) return;
    check_readable_file("--initrd", args.initrd);
    config.initrd = args.initrd;
  });
  config.cmdline = args.cmdline;
  file.attribute("memory", [&] { config.memory.size_bytes = parse_memory_size(args.memory); });
  file.attribute("memory-backing", [&] { parse_memory_backing(args.memory_backing, config.memory); });
  config.cpus = args.cpus;
  file.attribute("serial", [&] { config.serial = console::parse_console_spec(args.serial); });
  config.debug_exit_port = args.debug_exit_port;
  if (run.count("--send-keys") > 0) {
    vmm::KeyInjection injection;
    file.attribute("send-keys", [&] { injection.keys = parse_key_list(args.send_keys); });
    file.attribute("send-keys-after", [&] {
      if (run.count("--send-keys-after") == 0) return;
      if (const std::string why = regex_error_text(args.send_keys_after); !why.empty()) {
        throw ConfigError(fmt::format("invalid --send-keys-after '{}': {}", args.send_keys_after, why));
      }
      injection.after_console_regex = args.send_keys_after;
    });
    config.key_injection = std::move(injection);
  }
  for (size_t i = 0; i < args.disks.size(); ++i) {
    file.attribute("disk", [&] { config.disks.push_back(virtio::blk::parse_disk_spec(args.disks[i])); }, i);
  }
  for (size_t i = 0; i < args.nets.size(); ++i) {
    file.attribute("net", [&] { config.nics.push_back(net::parse_net_spec(args.nets[i])); }, i);
  }
  file.attribute("net", [&] { net::nic_macs(config.nics); });  // two NICs with one MAC: refused here, before KVM
  file.attribute("cpu-features", [&] {
    if (run.count("--cpu-features") > 0) config.hidden_cpuid = kvm::parse_cpu_feature_list(args.cpu_features);
  });
  config.harness = build_harness_options(args, run, file);
  file.attribute("seccomp", [&] { config.seccomp = sandbox::parse_seccomp_mode(args.seccomp); });
  config.privileges = build_privileges(args, run, config.harness, file);
  file.attribute("qmp", [&] {
    if (run.count("--qmp") > 0) config.qmp = parse_qmp_spec(args.qmp);
  });
  file.attribute("qmp-fd", [&] {
    if (run.count("--qmp-fd") == 0) return;
    check_qmp_fd(args.qmp_fd);
    config.qmp.connected_fd = args.qmp_fd;
  });
  config.name = args.name;
  config.stats_on_exit = args.stats_on_exit;
  return config;
}

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

uint64_t parse_memory_size(std::string_view text) { return console::parse_byte_size(text, "--memory"); }

void parse_memory_backing(std::string_view text, MemoryConfig& memory) {
  constexpr std::string_view kHugetlbfs = "hugetlbfs:";
  if (text == "anonymous") {
    memory.backing = MemoryBacking::anonymous;
  } else if (text == "memfd") {
    memory.backing = MemoryBacking::memfd;
  } else if (text.starts_with(kHugetlbfs) && text.size() > kHugetlbfs.size()) {
    memory.backing = MemoryBacking::hugetlbfs;
    memory.hugetlbfs_path = std::string(text.substr(kHugetlbfs.size()));
  } else {
    throw ConfigError(
        fmt::format("invalid --memory-backing '{}': expected anonymous, memfd or hugetlbfs:DIR", text));
  }
}

std::vector<std::string> parse_key_list(std::string_view text) {
  std::vector<std::string> keys;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string_view key = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    // Each '-'-separated part is a QKeyCode name: lower-case letters, digits, '_'.
    bool well_formed = !key.empty() && key.front() != '-' && key.back() != '-' &&
                       key.find("--") == std::string_view::npos;
    for (char c : key) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) well_formed = false;
    }
    if (!well_formed) {
      throw ConfigError(fmt::format("invalid --send-keys '{}': bad key '{}' (expected QEMU key names such as a, ret, "
                                    "shift-c, separated by commas)",
                                    text, key));
    }
    keys.emplace_back(key);
    if (keys.size() > kMaxKeys) throw ConfigError(fmt::format("invalid --send-keys: more than {} keys", kMaxKeys));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return keys;
}

void check_readable_file(std::string_view flag, const std::filesystem::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    throw ConfigError(fmt::format("{} '{}': {}", flag, path.string(), std::generic_category().message(errno)));
  }
  if (!S_ISREG(info.st_mode)) throw ConfigError(fmt::format("{} '{}': not a regular file", flag, path.string()));
  if (access(path.c_str(), R_OK) != 0) {
    throw ConfigError(fmt::format("{} '{}': {}", flag, path.string(), std::generic_category().message(errno)));
  }
}

ParseOutcome parse_command_line(int argc, const char* const* argv) {
  CLI::App app("keel: a KVM virtual machine monitor", "keel");
  app.set_version_flag("--version", "keel " KEEL_VERSION, "Print the version and exit");
  app.require_subcommand(1);

  RunArguments args;
  ConfigFileState file;
  CLI::App* run = app.add_subcommand("run", "Boot a guest and run it until it exits");
  add_config_file_options(*run, file);  // first: see config_file.h
  run->add_option("--kernel", args.kernel,
                  "Kernel image: Linux bzImage, PVH ELF or Multiboot (default: the embedded probe guest)")
      ->type_name("PATH");
  run->add_option("--initrd", args.initrd, "Initial ramdisk or boot module")->type_name("PATH");
  run->add_option("--cmdline", args.cmdline, "Kernel command line")->type_name("STRING");
  run->add_option("--memory", args.memory, "Guest RAM: 512M, 4G, ... (a plain number is MiB)")
      ->type_name("SIZE")
      ->capture_default_str();
  run->add_option("--memory-backing", args.memory_backing,
                  "Guest RAM backing: anonymous, memfd or hugetlbfs:DIR (a mounted hugetlbfs)")
      ->type_name("KIND")
      ->capture_default_str();
  run->add_option("--cpus", args.cpus, "Number of vCPUs")->type_name("N")->check(CLI::Range(1u, kMaxCpus))->capture_default_str();
  run->add_option("--disk", args.disks,
                  "virtio-blk disk: path=IMG[,readonly=on][,direct=on][,serial=STR]; repeatable")
      ->type_name("SPEC")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--net", args.nets,
                  "NIC: tap=NAME or user (user-mode networking), then [,model=virtio|e1000][,mac=02:..][,pcap=FILE]; "
                  "user also takes hostfwd=tcp::HOSTPORT-:GUESTPORT (repeatable), net=10.0.2.0/24, host=, dns=, "
                  "dhcpstart=, restrict=on; repeatable, one PCI slot each after the disks")
      ->type_name("SPEC")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--serial", args.serial,
                  "COM1 backend: stdio, file:PATH[,max-size=SIZE] (default cap 1G), pty, unix:PATH or none")
      ->type_name("BACKEND")
      ->capture_default_str();
  run->add_option("--log-level", args.log_level, "keel's log level: trace, debug, info, warn, error or off")
      ->type_name("LEVEL")
      ->capture_default_str();
  run->add_option("--log-file", args.log_file,
                  "Append keel's log to this file instead of stderr; at most max-size=SIZE per run (default 1G)")
      ->type_name("PATH[,max-size=SIZE]");
  run->add_option("--debug-exit-port", args.debug_exit_port, "I/O port of the debug-exit device")
      ->type_name("PORT")
      ->default_str("0x501");
  CLI::Option* send_keys =
      run->add_option("--send-keys", args.send_keys, "Keys to type on the PS/2 keyboard: a,b,shift-c,ret")
          ->type_name("KEYS");
  run->add_option("--send-keys-after", args.send_keys_after,
                  "Type --send-keys once the serial output matches this regular expression")
      ->type_name("REGEX")
      ->needs(send_keys);
  run->add_option("--cpu-features", args.cpu_features,
                  "CPUID features to hide from the guest: -cx16,-tsc-deadline,-xsave,... (see docs/boot-tests.md)")
      ->type_name("LIST");
  // The boot-test harness (docs/boot-tests.md).
  run->add_option("--expect", args.expect,
                  "Boot test: a regular expression the serial output must match; repeatable, matched in order")
      ->type_name("REGEX")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--fail-on", args.fail_on, "Boot test: fail (exit 3) when a serial line matches; repeatable")
      ->type_name("REGEX")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--timeout", args.timeout, "Boot test: stop and exit 4 after 500ms, 30s, 2m, 1h, ...")
      ->type_name("DURATION");
  run->add_option("--junit", args.junit, "Boot test: write a JUnit XML report")->type_name("FILE");
  run->add_option("--result-json", args.result_json, "Boot test: write a JSON result")->type_name("FILE");
  run->add_option("--seccomp", args.seccomp,
                  "System-call filter per thread: on (a forbidden call stops keel, exit 159), log (the kernel logs "
                  "it and lets it run) or off; see docs/security.md")
      ->type_name("on|log|off")
      ->capture_default_str();
  // Giving up root once the machine is built (docs/security.md).
  run->add_option("--user", args.user,
                  "Run as this user (name or uid) once /dev/kvm, images, taps and sockets are open; keel must start "
                  "as root")
      ->type_name("USER");
  run->add_option("--group", args.group, "With --user: run as this group (default: the user's primary group)")
      ->type_name("GROUP");
  run->add_option("--chroot", args.chroot_dir,
                  "Once set up, enter this directory as / in a private mount namespace (reports still go where "
                  "the command line named them); keel must start as root")
      ->type_name("DIR");
  run->add_option("--qmp", args.qmp,
                  "Serve QMP on a unix socket; server=on without wait=off waits for a client before the guest "
                  "starts (see docs/management.md)")
      ->type_name("unix:PATH[,server=on][,wait=off]");
  run->add_option("--qmp-fd", args.qmp_fd, "Serve QMP on this already connected socket, inherited from the parent")
      ->type_name("N");
  run->add_option("--name", args.name, "The VM's name, as QMP query-name reports it")->type_name("NAME");
  run->add_flag("--stats-on-exit", args.stats_on_exit,
                "When the VM stops, print its exit statistics (exits and device time per port/MMIO range) to stderr");
  run->add_option("--console-log", args.console_log,
                  "Write the serial output, timestamped, to this file; at most max-size=SIZE (default 1G)")
      ->type_name("FILE[,max-size=SIZE]");

  ctl::CtlOptions ctl_options;  // `keel ctl` (src/ctl): parsed here, run by main
  CLI::App* ctl = ctl::add_ctl_subcommand(app, ctl_options);
  import_xml::ImportOptions import_options;  // `keel import-xml` (src/import_xml): parsed here, run by main
  CLI::App* import_xml_command = import_xml::add_import_xml_subcommand(app, import_options);

  ParseOutcome outcome;
  // CLI11 would call both of these "A subcommand is required".
  if (argc <= 1) {
    outcome.usage = app.help();
    outcome.error = "no command given (try 'keel run --help')";
    outcome.exit_status = kExitError;
    return outcome;
  }
  if (const std::string_view first = argv[1];
      !first.starts_with('-') && first != "run" && first != "ctl" && first != "import-xml") {
    outcome.error = fmt::format("unknown command '{}' (expected run, ctl or import-xml)", first);
    outcome.exit_status = kExitError;
    return outcome;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out;
    std::ostringstream ignored;
    app.exit(e, out, ignored);  // prints help or the version on `out`
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      outcome.output = out.str();
      outcome.exit_status = kExitSuccess;
    } else {
      outcome.error = one_line(e.what());
      outcome.exit_status = std::string_view(argv[1]) == "ctl" ? ctl::kExitUsage : kExitError;
    }
    return outcome;
  } catch (const ConfigError& e) {  // --config: the file, its JSON, its keys and types, a value CLI11 refused
    outcome.error = one_line(e.what());
    outcome.exit_status = kExitError;
    return outcome;
  }

  if (ctl->parsed()) {
    outcome.ctl = ctl_options;
    return outcome;
  }
  if (import_xml_command->parsed()) {
    outcome.import_xml = import_options;
    return outcome;
  }
  try {
    file.attribute("log-level", [&] { outcome.log.level = parse_log_level(args.log_level); });
    file.attribute("log-file", [&] {
      if (run->count("--log-file") == 0) return;
      const console::CappedPath log = console::parse_capped_path(args.log_file, "--log-file");
      outcome.log.file = log.path;
      outcome.log.file_max_size = log.max_size;
    });
    outcome.config = build_config(args, *run, file);
    if (file.print) {  // everything checked: print what would run, and do not run it
      outcome.config.reset();
      outcome.output = effective_config_json(*run);
      outcome.exit_status = kExitSuccess;
    }
  } catch (const ConfigError& e) {
    outcome.config.reset();
    outcome.error = one_line(e.what());
    outcome.exit_status = kExitError;
  }
  return outcome;
}

}  // namespace keel::cli
