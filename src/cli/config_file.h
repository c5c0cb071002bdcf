// `--config FILE` (JSON) and `--print-config` for a command's machine flags.
//
// The file is a JSON object whose keys are the command's long option names
// without "--" and whose values are what the flag would be given: a string
// (or an integer) for an option with one value, an array of those for a
// repeatable option, true/false for a flag without a value. The values go
// into CLI11's own options, so the flags' conversions, validators and
// checks are the only ones; an option also on the command line keeps the
// command line's value(s) and the file's are ignored.
//
// Errors about a value from the file name it by its JSON Pointer:
//   --config vm.json: /disk/1: <what the flag's check says>
//   --config vm.json:3:14: invalid JSON: <what is wrong>
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "keel/config_error.h"

namespace CLI {
class App;
}

namespace keel::cli {

// What --config brought into one parse of a command.
struct ConfigFileState {
  std::string path;                                // as given; empty: no --config
  std::set<std::string, std::less<>> keys;         // options whose values came from the file
  bool print = false;                              // --print-config

  bool from_file(std::string_view key) const { return keys.contains(key); }

  // Runs check(); a ConfigError it throws about `key`'s value, when that
  // value came from the file, is rethrown prefixed with the value's JSON
  // path (element `index` of an array). Otherwise it passes unchanged.
  template <class Check>
  void attribute(std::string_view key, Check&& check, std::optional<size_t> index = std::nullopt) const {
    try {
      check();
    } catch (const ConfigError& e) {
      if (!from_file(key)) throw;
      throw ConfigError(where(key, index) + ": " + e.what());
    }
  }

  // "--config FILE: /KEY" or "--config FILE: /KEY/INDEX".
  std::string where(std::string_view key, std::optional<size_t> index = std::nullopt) const;
};

// Adds `--config FILE` and `--print-config` to `command`, reading into
// `state` (which must outlive the parse). Call it BEFORE adding the
// command's other options: the file is loaded in --config's callback, and
// CLI11 runs option callbacks in the order the options were added, all
// before it checks requirements (needs/excludes), so values from the file
// count for those checks as flags do.
void add_config_file_options(CLI::App& command, ConfigFileState& state);

// The effective values of `command`'s configurable options, after a
// successful parse, as a --config document (pretty-printed, ending in a
// newline): what was given, else the option's default; options without
// either are left out, flags are true/false, repeatable options arrays.
std::string effective_config_json(const CLI::App& command);

// 1-based line and column of byte `offset` (0-based) in `text`.
std::pair<size_t, size_t> line_and_column(std::string_view text, size_t offset);

// The JSON Pointer (RFC 6901) token for `key`: '~' as ~0, '/' as ~1.
std::string json_pointer_token(std::string_view key);

}  // namespace keel::cli
