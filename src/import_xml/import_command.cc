#include "src/import_xml/import_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <system_error>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/import_xml/domain_importer.h"

namespace keel::import_xml {
namespace {

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::string errno_text(int error) { return std::generic_category().message(error); }

// The whole file, or ConfigError. The size is checked on the open file
// descriptor and again by reading one byte past the cap, so a file that
// grows meanwhile (or a FIFO) cannot make keel read without end.
std::string read_capped(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) throw ConfigError(fmt::format("'{}': {}", path, errno_text(errno)));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat info {};
  if (fstat(fd, &info) != 0) throw ConfigError(fmt::format("'{}': {}", path, errno_text(errno)));
  if (!S_ISREG(info.st_mode)) throw ConfigError(fmt::format("'{}': not a regular file", path));
  if (static_cast<uint64_t>(info.st_size) > kMaxDomainXmlSize) {
    throw ConfigError(fmt::format("'{}': {} bytes, larger than the {} bytes a domain XML may have", path,
                                  info.st_size, kMaxDomainXmlSize));
  }
  std::string text(kMaxDomainXmlSize + 1, '\0');
  size_t used = 0;
  while (used < text.size()) {
    const ssize_t got = read(fd, text.data() + used, text.size() - used);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw ConfigError(fmt::format("'{}': {}", path, errno_text(errno)));
    if (got == 0) break;
    used += static_cast<size_t>(got);
  }
  if (used > kMaxDomainXmlSize) {
    throw ConfigError(fmt::format("'{}': larger than the {} bytes a domain XML may have", path, kMaxDomainXmlSize));
  }
  text.resize(used);
  return text;
}

bool safe_in_shell(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
}

}  // namespace

std::string shell_quote(std::string_view word) {
  bool bare = !word.empty();
  for (char c : word) bare = bare && safe_in_shell(c);
  if (bare) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string keel_run_command_line(const nlohmann::ordered_json& config) {
  std::string line = "keel run";
  const auto add = [&](const std::string& key, const std::string& value) {
    // "--cmdline -x" would read as two options: keep such a value attached.
    if (value.starts_with('-')) {
      line += " " + shell_quote(fmt::format("--{}={}", key, value));
    } else {
      line += fmt::format(" --{} {}", key, shell_quote(value));
    }
  };
  for (const auto& [key, value] : config.items()) {
    if (value.is_array()) {
      for (const auto& element : value) add(key, element.get<std::string>());
    } else if (value.is_string()) {
      add(key, value.get<std::string>());
    } else {
      add(key, value.dump());  // the integers (cpus)
    }
  }
  return line;
}

CLI::App* add_import_xml_subcommand(CLI::App& app, ImportOptions& options) {
  CLI::App* command = app.add_subcommand(
      "import-xml", "Translate a libvirt domain XML (keel's subset) into a keel run --config file");
  command->add_option("DOMAIN.xml", options.path, "The libvirt domain XML (virsh dumpxml NAME > DOMAIN.xml)")
      ->required();
  command->add_flag("--args", options.args, "Print a shell-quoted `keel run` command line instead of the JSON");
  command->footer(
      "Takes <name>, <memory>, <vcpu>, <os> (type hvm, kernel, initrd, cmdline), <memoryBacking><source "
      "type='memfd'/>, <disk type='file' device='disk'> on bus virtio (raw, readonly, cache, serial), <interface "
      "type='ethernet'|'user'> (target dev, mac, model virtio|e1000), one <serial>/<console> (pty, file, unix "
      "bind, stdio, null). Elements the guest runs the same without (<clock>, <on_poweroff>, <graphics>, ...) are "
      "dropped with a warning on stderr; anything else (<hostdev>, <loader>, bus='ide', hugepages, ...) is an "
      "error naming its XPath. Exit status: 0 done, 1 error. See docs/management.md.");
  return command;
}

int run_import_xml(const ImportOptions& options, std::FILE* out, std::FILE* err) noexcept {
  try {
    const std::string text = read_capped(options.path);
    ImportedDomain domain;
    try {
      domain = import_domain(text);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", options.path, e.what()));
    }
    for (const std::string& warning : domain.warnings) {
      std::fputs(fmt::format("keel import-xml: warning: {}: {}\n", options.path, one_line(warning)).c_str(), err);
    }
    const std::string output =
        options.args ? keel_run_command_line(domain.config) + "\n" : domain.config.dump(2) + "\n";
    if (std::fputs(output.c_str(), out) == EOF || std::fflush(out) != 0) {
      std::fputs(fmt::format("keel import-xml: writing the output: {}\n", errno_text(errno)).c_str(), err);
      return 1;
    }
    return 0;
  } catch (const ConfigError& e) {
    std::fputs(fmt::format("keel import-xml: {}\n", one_line(e.what())).c_str(), err);
  } catch (const std::exception& e) {
    std::fputs(fmt::format("keel import-xml: {}: {}\n", options.path, one_line(e.what())).c_str(), err);
  }
  return 1;
}

}  // namespace keel::import_xml
