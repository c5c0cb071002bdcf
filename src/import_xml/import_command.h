// `keel import-xml DOMAIN.xml [--args]`: the subcommand's options
// (registered on the `keel` CLI11 app by src/cli) and running it.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace keel::import_xml {

struct ImportOptions {
  std::string path;   // the domain XML
  bool args = false;  // print a `keel run` command line instead of JSON
};

// A domain XML is a few KiB; this much is refused unread.
inline constexpr size_t kMaxDomainXmlSize = 1 << 20;

// Adds `import-xml` to `app`; parsing fills `options` (which must outlive
// the parse). Returns the subcommand.
CLI::App* add_import_xml_subcommand(CLI::App& app, ImportOptions& options);

// Reads the file (at most kMaxDomainXmlSize bytes), prints the --config
// JSON (or the command line) on `out` and each warning as one line
// "keel import-xml: warning: FILE: PATH: ..." on `err`. Returns 0, or 1
// after one line "keel import-xml: FILE: ..." on `err`.
int run_import_xml(const ImportOptions& options, std::FILE* out, std::FILE* err) noexcept;

// `keel run --name web-1 --memory 2G --disk path=a.img ...` for a --config
// document, each word quoted for a POSIX shell where it needs it.
std::string keel_run_command_line(const nlohmann::ordered_json& config);

// 'it'\''s' style quoting; words of only safe characters stay bare.
std::string shell_quote(std::string_view word);

}  // namespace keel::import_xml
