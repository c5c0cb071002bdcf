#include "src/cli/config_file.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "src/cli/command_line.h"

namespace keel::cli {
namespace {

using Json = nlohmann::ordered_json;  // keeps the file's order, so the first bad key is the first reported

// A config file is a few hundred bytes; refuse to slurp a huge one by mistake.
constexpr std::streamsize kMaxConfigFileSize = 1 << 20;

// The options a file may set: long-named, configurable (--config,
// --print-config are not), and not --help.
std::vector<const CLI::Option*> file_options(const CLI::App& command) {
  std::vector<const CLI::Option*> options;
  for (const CLI::Option* option : command.get_options()) {
    if (option->get_lnames().empty() || !option->get_configurable()) continue;
    if (option == command.get_help_ptr() || option == command.get_help_all_ptr()) continue;
    options.push_back(option);
  }
  return options;
}

bool is_flag(const CLI::Option& option) { return option.get_expected_min() == 0; }
bool is_repeatable(const CLI::Option& option) { return !is_flag(option) && option.get_items_expected_max() > 1; }

std::string type_of(const Json& value) {
  if (value.is_number_float()) return "a non-integer number";
  if (value.is_number()) return "an integer";
  if (value.is_boolean()) return "a boolean";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  return "null";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

class Loader {
 public:
  Loader(CLI::App& command, ConfigFileState& state) : command_(command), state_(state) {}

  void load(const std::string& path) {
    state_.path = path;
    check_readable_file("--config", path);
    const std::string text = read(path);
    Json document;
    try {
      document = Json::parse(text);
    } catch (const Json::parse_error& e) {
      // nlohmann's byte is 1-based (the character it stopped at); 0 is "nothing read".
      const auto [line, column] = line_and_column(text, e.byte == 0 ? 0 : e.byte - 1);
      throw ConfigError(fmt::format("--config {}:{}:{}: invalid JSON: {}", path, line, column, reason(e.what())));
    }
    if (!document.is_object()) {
      throw ConfigError(fmt::format("--config {}: expected a JSON object of options ({{\"memory\": \"2G\", ...}}), "
                                    "got {}",
                                    path, type_of(document)));
    }
    const std::vector<const CLI::Option*> allowed = file_options(command_);
    for (const auto& [key, value] : document.items()) apply(allowed, key, value);
  }

 private:
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string text;
    text.resize(static_cast<size_t>(kMaxConfigFileSize) + 1);
    in.read(text.data(), kMaxConfigFileSize + 1);
    if (in.bad()) throw ConfigError(fmt::format("--config '{}': read failed", path));
    text.resize(static_cast<size_t>(in.gcount()));
    if (in.gcount() > kMaxConfigFileSize) {
      throw ConfigError(fmt::format("--config '{}': larger than {} bytes", path, kMaxConfigFileSize));
    }
    return text;
  }

  // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..." → "syntax error ...":
  // the position is already in front, in the file:line:column form.
  static std::string reason(std::string_view what) {
    if (const size_t colon = what.find(": "); what.starts_with("[json.exception.") && colon != what.npos) {
      what.remove_prefix(colon + 2);
    }
    return std::string(what);
  }

  void apply(const std::vector<const CLI::Option*>& allowed, const std::string& key, const Json& value) {
    const auto match = std::find_if(allowed.begin(), allowed.end(),
                                    [&](const CLI::Option* option) { return option->get_lnames().front() == key; });
    if (match == allowed.end()) throw ConfigError(unknown_key(allowed, key));
    // The option object is the command's own; file_options only viewed it as const.
    CLI::Option& option = *command_.get_option(std::string("--") + key);
    const std::vector<std::string> inputs = inputs_of(option, key, value);  // type-checked even if overridden
    if (option.count() > 0 || inputs.empty()) return;  // the command line wins; `false` / [] mean "not given"
    state_.keys.insert(key);
    // As CLI11's own config reader does; the callback converts and validates
    // now, so its complaint can be pinned on this key.
    try {
      option.add_result(inputs);
      option.run_callback();
    } catch (const CLI::ParseError& e) {
      std::string message = e.what();
      if (const std::string own = "--" + key + ": "; message.starts_with(own)) message.erase(0, own.size());
      throw ConfigError(state_.where(key) + ": " + message);
    }
  }

  std::vector<std::string> inputs_of(const CLI::Option& option, const std::string& key, const Json& value) const {
    if (is_flag(option)) {
      if (!value.is_boolean()) {
        throw ConfigError(fmt::format("{}: expected true or false (--{} takes no value), got {}", state_.where(key),
                                      key, type_of(value)));
      }
      return value.get<bool>() ? std::vector<std::string>{"true"} : std::vector<std::string>{};
    }
    if (!is_repeatable(option)) return {scalar(value, state_.where(key), "")};
    if (!value.is_array()) {
      throw ConfigError(fmt::format("{}: expected an array of strings (--{} is repeatable: [\"...\", ...]), got {}",
                                    state_.where(key), key, type_of(value)));
    }
    std::vector<std::string> inputs;
    for (size_t i = 0; i < value.size(); ++i) inputs.push_back(scalar(value[i], state_.where(key, i), " element"));
    return inputs;
  }

  // One value, as it would be typed after the flag. Integers are allowed
  // (their decimal digits) so that "cpus": 4 reads as naturally as "4".
  static std::string scalar(const Json& value, const std::string& where, std::string_view what) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
    if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
    throw ConfigError(fmt::format("{}: expected a string or an integer{}, got {}", where, what, type_of(value)));
  }

  std::string unknown_key(const std::vector<const CLI::Option*>& allowed, const std::string& key) const {
    const std::string where = state_.where(key);
    if (key == "config" || key == "print-config" || key == "help") {
      return fmt::format("{}: --{} is for the command line only, not for a config file", where, key);
    }
    std::string nearest;
    size_t nearest_distance = 3;  // suggest only a close spelling (or the key with its "--")
    std::vector<std::string> names;
    for (const CLI::Option* option : allowed) {
      const std::string& name = option->get_lnames().front();
      names.push_back(name);
      const size_t distance = edit_distance(key, name);
      if (distance < nearest_distance) {
        nearest_distance = distance;
        nearest = name;
      }
    }
    if (!nearest.empty()) return fmt::format("{}: unknown option (did you mean \"{}\"?)", where, nearest);
    return fmt::format("{}: unknown option; allowed: {}", where, fmt::join(names, ", "));
  }

  CLI::App& command_;
  ConfigFileState& state_;
};

// "4" → 4, so a printed config reads as written by hand; anything else
// (leading zeros, signs, hex, text) stays a string and reads back the same.
Json printable(const std::string& text) {
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  const bool canonical = !text.empty() && (text.size() == 1 || text.front() != '0');
  if (error == std::errc() && end == text.data() + text.size() && canonical) return number;
  return text;
}

}  // namespace

std::string ConfigFileState::where(std::string_view key, std::optional<size_t> index) const {
  std::string text = fmt::format("--config {}: /{}", path, json_pointer_token(key));
  if (index) text += fmt::format("/{}", *index);
  return text;
}

void add_config_file_options(CLI::App& command, ConfigFileState& state) {
  command
      .add_option_function<std::string>(
          "--config", [&command, &state](const std::string& path) { Loader(command, state).load(path); },
          "Read options from this JSON file: {\"memory\": \"2G\", \"disk\": [\"path=a.img\"], ...}; flags on the "
          "command line override it (see docs/management.md)")
      ->type_name("FILE")
      ->configurable(false);
  command.add_flag("--print-config", state.print, "Print the effective options as a --config file and exit")
      ->configurable(false);
}

std::string effective_config_json(const CLI::App& command) {
  Json document = Json::object();
  for (const CLI::Option* option : file_options(command)) {
    const std::string& key = option->get_lnames().front();
    if (is_flag(*option)) {
      document[key] = option->count() > 0;
    } else if (is_repeatable(*option)) {
      Json values = Json::array();
      for (const std::string& value : option->results()) values.push_back(value);
      document[key] = std::move(values);
    } else if (option->count() > 0) {
      document[key] = printable(option->results().back());
    } else if (!option->get_default_str().empty()) {
      document[key] = printable(option->get_default_str());
    }
  }
  return document.dump(2) + "\n";
}

std::pair<size_t, size_t> line_and_column(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  const size_t line_start = before.rfind('\n');
  const size_t column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
  return {line, column};
}

std::string json_pointer_token(std::string_view key) {
  std::string token;
  for (char c : key) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token += c;
    }
  }
  return token;
}

}  // namespace keel::cli
