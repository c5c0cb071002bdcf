// Fuzz target: the command-line value parsers, each against an independent
// model of what it accepts: byte sizes and capped output paths
// (src/console/byte_size), --serial specs (src/console/console_spec),
// --disk specs (virtio/blk/disk_spec), --net specs with tap and user-mode
// keys and MACs (src/net/net_spec, user_net_config), durations
// (src/harness/duration), --memory / --memory-backing / --send-keys
// (src/cli/command_line), --cpu-features (src/kvm/cpuid), and the whole
// `keel run` command line built from those flags. None of these parsers
// touches the filesystem or the network (--kernel/--initrd, which stat their
// files, and the regex flags are left out of the command lines built here).
//
// Input: [parser u8][text: the rest]. For the command line (parser 13) the
// text is split at NUL bytes into at most 12 pieces, each [flag u8][value].
//
// Invariants, beyond "no crash" (no exception other than ConfigError):
// - an error is a ConfigError with a non-empty message that names the flag
//   (or the spec kind) and has no line break unless the text had one;
// - byte sizes, capped paths, MACs, --memory-backing, --send-keys and
//   --cpu-features accept exactly what the model accepts, with the model's
//   value;
// - a parsed serial or disk spec, printed back, parses to the same spec;
//   a parsed byte size's printed form names the same size; a parsed
//   duration is in (0, 1 year] and its printed form parses back to it (at
//   the printer's millisecond resolution); a parsed MAC prints and parses
//   back to itself;
// - a parsed --net spec has a valid tap name or a finished user config
//   (host, dns, dhcpstart distinct and inside the network, every forward's
//   ports set and guest inside the network; finishing again changes
//   nothing);
// - parse_command_line() never throws: it returns a config, or exit status
//   1 with a one-line error.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/config_error.h"
#include "src/cli/command_line.h"
#include "src/console/byte_size.h"
#include "src/console/console_spec.h"
#include "src/harness/duration.h"
#include "src/kvm/cpuid.h"
#include "src/net/net_spec.h"
#include "src/net/tap_backend.h"
#include "src/net/user_net_config.h"
#include "tests/fuzz/fuzz_check.h"
#include "virtio/blk/disk_spec.h"

namespace {

using keel::ConfigError;

bool has_line_break(std::string_view text) { return text.find_first_of("\n\r") != std::string_view::npos; }

// Runs `parse`; on a ConfigError checks the message and returns nullopt.
template <class Parse>
auto attempt(std::string_view text, std::initializer_list<std::string_view> names, Parse&& parse)
    -> std::optional<decltype(parse())> {
  try {
    return parse();
  } catch (const ConfigError& error) {
    const std::string_view message = error.what();
    FUZZ_CHECK(!message.empty(), "an error says what is wrong");
    FUZZ_CHECK(has_line_break(text) || !has_line_break(message), "errors are one line");
    FUZZ_CHECK(std::any_of(names.begin(), names.end(),
                           [&](std::string_view name) { return message.find(name) != std::string_view::npos; }),
               "an error names the flag or spec");
    return std::nullopt;
  }
}

// The model of a byte size: digits, then at most one of KMGT (either case);
// a plain number is MiB; zero and values past 2^64 - 1 are refused.
std::optional<uint64_t> model_byte_size(std::string_view text) {
  size_t digits = 0;
  unsigned __int128 number = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    number = number * 10 + static_cast<unsigned>(text[digits] - '0');
    if (number > UINT64_MAX) return std::nullopt;
    ++digits;
  }
  if (digits == 0 || text.size() > digits + 1) return std::nullopt;
  unsigned shift = 20;
  if (text.size() == digits + 1) {
    switch (text.back()) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      case 'T': case 't': shift = 40; break;
      default: return std::nullopt;
    }
  }
  const unsigned __int128 bytes = number << shift;
  if (number == 0 || bytes > UINT64_MAX) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

void check_byte_size(std::string_view text, std::string_view flag) {
  const auto parsed = attempt(text, {flag}, [&] { return keel::console::parse_byte_size(text, flag); });
  FUZZ_CHECK(parsed == model_byte_size(text), "byte sizes: exactly the model's");
  if (!parsed) return;
  // The printed form, "N UNIT" or "N bytes", names the same size.
  const std::string printed = keel::console::format_byte_size(*parsed);
  const size_t space = printed.find(' ');
  FUZZ_CHECK(space != std::string::npos, "printed sizes are 'N UNIT'");
  const std::string_view unit = std::string_view(printed).substr(space + 1);
  const unsigned shift = unit == "TiB" ? 40 : unit == "GiB" ? 30 : unit == "MiB" ? 20 : unit == "KiB" ? 10 : 0;
  FUZZ_CHECK(shift != 0 || unit == "bytes", "a known unit");
  FUZZ_CHECK(std::stoull(printed.substr(0, space)) << shift == *parsed, "the printed size is the parsed size");
}

void check_capped_path(std::string_view text) {
  const auto parsed = attempt(text, {"--fuzz-log"}, [&] { return keel::console::parse_capped_path(text, "--fuzz-log"); });
  std::optional<keel::console::CappedPath> model;
  const size_t comma = text.find(',');
  const std::string_view path = text.substr(0, comma);
  if (!path.empty()) {
    if (comma == std::string_view::npos) {
      model = keel::console::CappedPath{std::string(path), keel::console::kDefaultOutputMaxSize};
    } else if (const std::string_view option = text.substr(comma + 1); option.starts_with("max-size=")) {
      if (const auto size = model_byte_size(option.substr(9))) model = keel::console::CappedPath{std::string(path), *size};
    }
  }
  FUZZ_CHECK(parsed.has_value() == model.has_value(), "capped paths: accepted exactly as the model");
  if (parsed) FUZZ_CHECK(parsed->path == model->path && parsed->max_size == model->max_size, "capped paths: the model's value");
}

void check_console_spec(std::string_view text) {
  using keel::vmm::ConsoleKind;
  const auto parse = [](std::string_view spec) { return keel::console::parse_console_spec(spec); };
  const auto parsed = attempt(text, {"file:", "unix:", "serial"}, [&] { return parse(text); });
  if (!parsed) return;
  std::string printed;
  switch (parsed->kind) {
    case ConsoleKind::stdio: printed = "stdio"; break;
    case ConsoleKind::pty: printed = "pty"; break;
    case ConsoleKind::none: printed = "none"; break;
    case ConsoleKind::unix_socket: printed = "unix:" + parsed->path.string(); break;
    case ConsoleKind::file:
      FUZZ_CHECK(parsed->max_size % 1024 == 0 && parsed->max_size != 0, "file caps are whole KiB");
      printed = "file:" + parsed->path.string() + ",max-size=" + std::to_string(parsed->max_size >> 10) + "K";
      break;
  }
  FUZZ_CHECK(parsed->kind == ConsoleKind::stdio || parsed->kind == ConsoleKind::pty ||
                 parsed->kind == ConsoleKind::none || !parsed->path.empty(),
             "file: and unix: have a path");
  const auto again = parse(printed);
  FUZZ_CHECK(again.kind == parsed->kind && again.path == parsed->path && again.max_size == parsed->max_size,
             "a printed serial spec parses back to itself");
}

void check_disk_spec(std::string_view text) {
  const auto parsed = attempt(text, {"--disk"}, [&] { return keel::virtio::blk::parse_disk_spec(text); });
  if (!parsed) return;
  FUZZ_CHECK(!parsed->path.empty() && parsed->path.find(',') == std::string::npos, "a disk has a path");
  FUZZ_CHECK(parsed->serial.size() <= 20 && parsed->serial.find(',') == std::string::npos, "serial: 20 bytes at most");
  const std::string printed = "path=" + parsed->path + ",readonly=" + (parsed->readonly ? "on" : "off") +
                              ",direct=" + (parsed->direct ? "on" : "off") + ",serial=" + parsed->serial;
  const auto again = keel::virtio::blk::parse_disk_spec(printed);
  FUZZ_CHECK(again.path == parsed->path && again.readonly == parsed->readonly && again.direct == parsed->direct &&
                 again.serial == parsed->serial,
             "a printed disk spec parses back to itself");
}

std::optional<keel::net::MacAddress> model_mac(std::string_view text) {
  const auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  if (text.size() != 17) return std::nullopt;
  keel::net::MacAddress mac{};
  for (size_t i = 0; i < 6; ++i) {
    if (hex(text[3 * i]) < 0 || hex(text[3 * i + 1]) < 0) return std::nullopt;
    if (i < 5 && text[3 * i + 2] != ':' && text[3 * i + 2] != '-') return std::nullopt;
    mac[i] = static_cast<uint8_t>(hex(text[3 * i]) * 16 + hex(text[3 * i + 1]));
  }
  if (mac == keel::net::MacAddress{} || (mac[0] & 1) != 0) return std::nullopt;
  return mac;
}

void check_mac_round_trip(const keel::net::MacAddress& mac) {
  FUZZ_CHECK(model_mac(keel::net::format_mac(mac)) == mac && keel::net::parse_mac(keel::net::format_mac(mac)) == mac,
             "a MAC prints and parses back to itself");
}

void check_mac(std::string_view text) {
  const auto parsed = attempt(text, {"--net: mac="}, [&] { return keel::net::parse_mac(text); });
  FUZZ_CHECK(parsed == model_mac(text), "MACs: exactly the model's");
  if (parsed) check_mac_round_trip(*parsed);
}

bool usable_in(const keel::net::UserNetConfig& config, keel::net::Ipv4 address) {
  const keel::net::Ipv4 mask = config.netmask();
  return (address & mask) == config.network && address != config.network && address != (config.network | ~mask);
}

void check_net_spec(std::string_view text) {
  const auto parsed = attempt(text, {"--net"}, [&] { return keel::net::parse_net_spec(text); });
  if (!parsed) return;
  if (parsed->mac) check_mac_round_trip(*parsed->mac);
  FUZZ_CHECK(!parsed->pcap || !parsed->pcap->empty(), "pcap= has a file");
  if (parsed->backend == keel::net::NetBackendKind::tap) {
    FUZZ_CHECK(text.starts_with("tap=" + parsed->tap_name), "the tap name is the spec's");
    keel::net::check_interface_name(parsed->tap_name);  // throws (a crash here) if invalid
    return;
  }
  const keel::net::UserNetConfig& user = parsed->user;
  FUZZ_CHECK(user.prefix >= 0 && user.prefix <= 32 && (user.network & ~user.netmask()) == 0, "net= is a network");
  FUZZ_CHECK(user.host && user.dns && user.dhcp_start, "finished: host, dns and dhcpstart are set");
  FUZZ_CHECK(usable_in(user, *user.host) && usable_in(user, *user.dns) && usable_in(user, *user.dhcp_start),
             "host, dns and dhcpstart lie inside the network");
  FUZZ_CHECK(*user.host != *user.dns && *user.host != *user.dhcp_start && *user.dns != *user.dhcp_start,
             "host, dns and dhcpstart differ");
  for (const auto& forward : user.host_forwards) {
    FUZZ_CHECK(forward.host_port != 0 && forward.guest_port != 0, "forwards have ports");
    FUZZ_CHECK(forward.guest_address && usable_in(user, *forward.guest_address), "forwards go inside the network");
  }
  keel::net::UserNetConfig again = user;
  keel::net::finish_user_net_config(again);
  FUZZ_CHECK(again.host == user.host && again.dns == user.dns && again.dhcp_start == user.dhcp_start &&
                 again.host_forwards.size() == user.host_forwards.size(),
             "finishing is idempotent");
}

void check_duration(std::string_view text) {
  using std::chrono::nanoseconds;
  const auto parse = [](std::string_view spec) { return keel::harness::parse_duration(spec, "--fuzz-time"); };
  const auto parsed = attempt(text, {"--fuzz-time"}, [&] { return parse(text); });
  if (!parsed) return;
  FUZZ_CHECK(parsed->count() > 0 && *parsed <= std::chrono::hours(24 * 366), "durations lie in (0, 1 year]");
  const std::string printed = keel::harness::format_duration(*parsed);
  const auto again = attempt(printed, {"--fuzz-time"}, [&] { return parse(printed); });
  const nanoseconds millis = std::chrono::floor<std::chrono::milliseconds>(*parsed);
  FUZZ_CHECK(millis.count() == 0 ? !again : again == millis, "a printed duration parses back (to the millisecond)");
}

void check_memory_backing(std::string_view text) {
  keel::MemoryConfig memory;
  const auto parsed = attempt(text, {"--memory-backing"}, [&] {
    keel::cli::parse_memory_backing(text, memory);
    return true;
  });
  const bool hugetlbfs = text.starts_with("hugetlbfs:") && text.size() > 10;
  FUZZ_CHECK(parsed.has_value() == (text == "anonymous" || text == "memfd" || hugetlbfs),
             "--memory-backing: exactly anonymous, memfd, hugetlbfs:DIR");
  if (parsed && hugetlbfs) {
    FUZZ_CHECK(memory.backing == keel::MemoryBacking::hugetlbfs && memory.hugetlbfs_path == text.substr(10),
               "hugetlbfs:DIR keeps DIR");
  }
}

void check_key_list(std::string_view text) {
  const auto parsed = attempt(text, {"--send-keys"}, [&] { return keel::cli::parse_key_list(text); });
  // The model: comma-separated keys of [a-z0-9_] parts joined by single '-'.
  size_t count = 0;
  bool well_formed = true;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string_view key = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    well_formed = well_formed && !key.empty() && key.front() != '-' && key.back() != '-' &&
                  key.find("--") == std::string_view::npos &&
                  std::all_of(key.begin(), key.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                  });
    ++count;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  FUZZ_CHECK(parsed.has_value() == (well_formed && count <= 4096), "--send-keys: exactly the model's");
  if (!parsed) return;
  std::string joined;
  for (size_t i = 0; i < parsed->size(); ++i) joined += (i == 0 ? "" : ",") + (*parsed)[i];
  FUZZ_CHECK(parsed->size() == count && joined == text, "the keys are the text's, in order");
}

void check_cpu_features(std::string_view text) {
  const auto parsed = attempt(text, {"--cpu-features"}, [&] { return keel::kvm::parse_cpu_feature_list(text); });
  size_t bits = 0;
  bool known = true;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string_view entry = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    const auto& names = keel::kvm::cpu_feature_names();
    const auto found = std::find_if(names.begin(), names.end(), [&](const auto& feature) {
      return entry.size() >= 2 && entry.front() == '-' && entry.substr(1) == feature.name;
    });
    if (found == names.end()) {
      known = false;
      break;
    }
    bits += found->bits.size();
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  FUZZ_CHECK(parsed.has_value() == known, "--cpu-features: exactly the known -NAME lists");
  if (parsed) {
    FUZZ_CHECK(parsed->size() == bits, "each name hides its bits");
    for (const auto& hidden : *parsed) FUZZ_CHECK(hidden.mask != 0, "hidden bits are bits");
  }
}

void check_command_line(std::string_view text) {
  static constexpr const char* kFlags[] = {
      "--memory", "--memory-backing", "--serial", "--disk", "--net", "--timeout", "--send-keys",
      "--cpu-features", "--cpus", "--log-file", "--console-log", "--log-level", "--cmdline", "--debug-exit-port",
      "--junit", "--result-json"};
  std::vector<std::string> words{"keel", "run"};
  size_t disks = 0;
  size_t start = 0;
  for (int piece = 0; piece < 12 && start < text.size(); ++piece) {
    const size_t nul = text.find('\0', start);
    const std::string_view part = text.substr(start, nul == std::string_view::npos ? text.npos : nul - start);
    start = nul == std::string_view::npos ? text.size() : nul + 1;
    if (part.empty()) continue;
    const char* flag = kFlags[static_cast<uint8_t>(part[0]) % std::size(kFlags)];
    if (std::string_view(flag) == "--disk") ++disks;
    words.emplace_back(flag);
    words.emplace_back(part.substr(1));
  }
  std::vector<const char*> argv;
  for (const std::string& word : words) argv.push_back(word.c_str());
  const keel::cli::ParseOutcome outcome = keel::cli::parse_command_line(static_cast<int>(argv.size()), argv.data());
  if (outcome.config) {
    FUZZ_CHECK(outcome.exit_status == keel::cli::kExitSuccess && outcome.error.empty(), "a config is a success");
    FUZZ_CHECK(outcome.config->disks.size() == disks, "one disk per --disk");
    FUZZ_CHECK(outcome.config->memory.size_bytes != 0, "guest RAM is not empty");
  } else {
    FUZZ_CHECK(outcome.exit_status == keel::cli::kExitError, "no config: exit status 1");
    FUZZ_CHECK(!outcome.error.empty() && !has_line_break(outcome.error), "a one-line error");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 14) {
    case 0: check_byte_size(text, "--fuzz-size"); break;
    case 1: check_capped_path(text); break;
    case 2: check_console_spec(text); break;
    case 3: check_disk_spec(text); break;
    case 4: check_net_spec(text); break;
    case 5: check_mac(text); break;
    case 6: check_duration(text); break;
    case 7: check_byte_size(text, "--memory"); {
      // --memory is parse_byte_size under its own name.
      const auto memory = attempt(text, {"--memory"}, [&] { return keel::cli::parse_memory_size(text); });
      FUZZ_CHECK(memory == model_byte_size(text), "--memory: exactly the model's");
      break;
    }
    case 8: check_memory_backing(text); break;
    case 9: check_key_list(text); break;
    case 10: check_cpu_features(text); break;
    case 11: check_net_spec("user," + std::string(text)); break;
    case 12: check_net_spec("tap=" + std::string(text)); break;
    case 13: check_command_line(text); break;
  }
  return 0;
}
