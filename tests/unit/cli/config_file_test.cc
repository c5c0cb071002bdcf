// `keel run --config FILE` and `--print-config` (src/cli/config_file.h).
#include "src/cli/config_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "src/cli/command_line.h"
#include "tests/unit/cli/parse_test_support.h"

namespace keel::cli {
namespace {

using test_support::error_of;
using test_support::parse;

// A file in a fresh temporary directory, removed with it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/keel-config-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = path + "/" + name;
    std::ofstream(file) << text;
    return file;
  }
  std::string path;
};

// Runs `keel run --config FILE [flags...]` on a file holding `json`.
class ConfigFile : public ::testing::Test {
 protected:
  std::string file(const std::string& json) { return dir_.write("vm.json", json); }
  ParseOutcome run(const std::string& json, std::vector<std::string> flags = {}) {
    std::vector<std::string> args{"run", "--config", file(json)};
    args.insert(args.end(), flags.begin(), flags.end());
    return parse(args);
  }
  std::string error(const std::string& json, std::vector<std::string> flags = {}) {
    std::vector<std::string> args{"run", "--config", file(json)};
    args.insert(args.end(), flags.begin(), flags.end());
    return error_of(args);
  }
  std::string prefix() const { return "--config " + dir_.path + "/vm.json: "; }
  TempDir dir_;
};

TEST_F(ConfigFile, EveryKindOfOption) {
  const std::string kernel = dir_.write("bzImage", "k");
  const std::string initrd = dir_.write("initrd", "i");
  const nlohmann::json doc = {
      {"kernel", kernel},
      {"initrd", initrd},
      {"cmdline", "console=ttyS0 quiet"},
      {"memory", "2G"},
      {"memory-backing", "memfd"},
      {"cpus", 4},  // an integer
      {"serial", "unix:/tmp/c.sock"},
      {"log-level", "debug"},
      {"log-file", "/tmp/k.log,max-size=1M"},
      {"debug-exit-port", "0xf4"},
      {"send-keys", "a,shift-c,ret"},
      {"send-keys-after", "login: $"},
      {"cpu-features", "-cx16,-tsc-deadline"},
      {"expect", {"first", "second"}},
      {"fail-on", {"Oops"}},
      {"timeout", "2m"},
      {"junit", "/tmp/j.xml"},
      {"result-json", "/tmp/r.json"},
      {"console-log", "/tmp/c.log,max-size=64K"},
      {"disk", {"path=/a.img,serial=one", "path=/b.img,readonly=on"}},
      {"net", {"user", "tap=tap7,model=e1000"}},
      {"seccomp", "log"},
  };
  const ParseOutcome outcome = run(doc.dump());
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  const vmm::MachineConfig& config = *outcome.config;
  EXPECT_EQ(config.kernel, kernel);
  EXPECT_EQ(config.initrd, initrd);
  EXPECT_EQ(config.cmdline, "console=ttyS0 quiet");
  EXPECT_EQ(config.memory.size_bytes, 2ull << 30);
  EXPECT_EQ(config.memory.backing, MemoryBacking::memfd);
  EXPECT_EQ(config.cpus, 4u);
  EXPECT_EQ(config.serial.kind, vmm::ConsoleKind::unix_socket);
  EXPECT_EQ(outcome.log.level, spdlog::level::debug);
  EXPECT_EQ(outcome.log.file, std::filesystem::path("/tmp/k.log"));
  EXPECT_EQ(outcome.log.file_max_size, 1ull << 20);
  EXPECT_EQ(config.debug_exit_port, 0xf4);
  ASSERT_TRUE(config.key_injection.has_value());
  EXPECT_EQ(config.key_injection->keys, (std::vector<std::string>{"a", "shift-c", "ret"}));
  EXPECT_EQ(config.key_injection->after_console_regex, "login: $");
  EXPECT_EQ(config.hidden_cpuid.size(), 2u);
  EXPECT_EQ(config.harness.expect, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(config.harness.fail_on, (std::vector<std::string>{"Oops"}));
  EXPECT_EQ(config.harness.timeout, std::chrono::minutes(2));
  EXPECT_EQ(config.harness.junit, std::filesystem::path("/tmp/j.xml"));
  EXPECT_EQ(config.harness.result_json, std::filesystem::path("/tmp/r.json"));
  EXPECT_EQ(config.harness.console_log, std::filesystem::path("/tmp/c.log"));
  EXPECT_EQ(config.harness.console_log_max_size, 64u << 10);
  ASSERT_EQ(config.disks.size(), 2u);
  EXPECT_EQ(config.disks[0].serial, "one");
  EXPECT_TRUE(config.disks[1].readonly);
  ASSERT_EQ(config.nics.size(), 2u);
  EXPECT_EQ(config.nics[0].backend, net::NetBackendKind::user);
  EXPECT_EQ(config.nics[1].tap_name, "tap7");
  EXPECT_EQ(config.seccomp, sandbox::SeccompMode::log);
}

TEST_F(ConfigFile, EmptyObjectIsTheDefaults) {
  const ParseOutcome outcome = run("{}");
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_EQ(outcome.config->memory.size_bytes, 512ull << 20);
  EXPECT_EQ(outcome.config->seccomp, sandbox::SeccompMode::on);
  EXPECT_TRUE(outcome.config->disks.empty());
}

TEST_F(ConfigFile, FlagsOverrideTheFileWhereverTheyStand) {
  const std::string json = R"({"memory": "2G", "cpus": 2, "disk": ["path=/a.img", "path=/b.img"]})";
  const std::string path = file(json);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", "--config", path, "--memory", "1G", "--disk", "path=/c.img"},
           {"run", "--memory", "1G", "--disk", "path=/c.img", "--config", path},
           {"run", "--memory=1G", "--config=" + path, "--disk=path=/c.img"}}) {
    const ParseOutcome outcome = parse(args);
    ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
    EXPECT_EQ(outcome.config->memory.size_bytes, 1ull << 30);
    EXPECT_EQ(outcome.config->cpus, 2u);  // not on the command line: the file's
    // A repeatable option on the command line replaces the file's list.
    ASSERT_EQ(outcome.config->disks.size(), 1u);
    EXPECT_EQ(outcome.config->disks[0].path, "/c.img");
  }
}

TEST_F(ConfigFile, ValuesFromTheFileCountForRequirements) {
  // --send-keys-after needs --send-keys: either may come from the file.
  const ParseOutcome outcome = run(R"({"send-keys": "ret"})", {"--send-keys-after", "login:"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_EQ(outcome.config->key_injection->after_console_regex, "login:");
  EXPECT_TRUE(run(R"({"send-keys-after": "x", "send-keys": "a"})").config.has_value());
  EXPECT_NE(error(R"({"send-keys-after": "x"})").find("--send-keys"), std::string::npos);
}

TEST_F(ConfigFile, EmptyArrayMeansNotGiven) {
  const ParseOutcome outcome = run(R"({"disk": [], "expect": []})");
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_TRUE(outcome.config->disks.empty());
  EXPECT_FALSE(outcome.config->harness.enabled());
}

TEST_F(ConfigFile, UnknownKeys) {
  EXPECT_EQ(error(R"({"cpus": 1, "memroy": "2G"})"), prefix() + R"(/memroy: unknown option (did you mean "memory"?))");
  EXPECT_EQ(error(R"({"--disk": []})"), prefix() + R"(/--disk: unknown option (did you mean "disk"?))");
  const std::string far = error(R"({"colour": "red"})");
  EXPECT_TRUE(far.starts_with(prefix() + "/colour: unknown option; allowed: kernel, initrd, cmdline, ")) << far;
  EXPECT_NE(far.find("seccomp"), std::string::npos) << far;
  EXPECT_EQ(far.find("print-config"), std::string::npos) << far;
  EXPECT_EQ(error(R"({"config": "other.json"})"),
            prefix() + "/config: --config is for the command line only, not for a config file");
  EXPECT_EQ(error(R"({"a/b": 1})").substr(prefix().size(), 5), "/a~1b");
}

TEST_F(ConfigFile, WrongJsonTypes) {
  EXPECT_EQ(error(R"({"cpus": [2]})"), prefix() + "/cpus: expected a string or an integer, got an array");
  EXPECT_EQ(error(R"({"memory": 1.5})"),
            prefix() + "/memory: expected a string or an integer, got a non-integer number");
  EXPECT_EQ(error(R"({"kernel": null})"), prefix() + "/kernel: expected a string or an integer, got null");
  EXPECT_EQ(error(R"({"seccomp": false})"), prefix() + "/seccomp: expected a string or an integer, got a boolean");
  EXPECT_EQ(error(R"({"disk": "path=/a.img"})"),
            prefix() + R"(/disk: expected an array of strings (--disk is repeatable: ["...", ...]), got a string)");
  EXPECT_EQ(error(R"({"disk": ["path=/a.img", {"path": "/b.img"}]})"),
            prefix() + "/disk/1: expected a string or an integer element, got an object");
  // Checked even when the command line overrides the value.
  EXPECT_NE(error(R"({"cpus": {}})", {"--cpus", "2"}).find("/cpus: expected"), std::string::npos);
  // The whole file must be an object of options.
  EXPECT_EQ(error(R"(["--memory", "2G"])"),
            "--config " + dir_.path +
                R"(/vm.json: expected a JSON object of options ({"memory": "2G", ...}), got an array)");
}

TEST_F(ConfigFile, BadValuesGetTheFlagsChecksAndTheirJsonPath) {
  EXPECT_EQ(error(R"({"memory": "12X"})"), prefix() + "/memory: " + error_of({"run", "--memory", "12X"}));
  EXPECT_EQ(error(R"({"serial": "tcp:1"})"), prefix() + "/serial: " + error_of({"run", "--serial", "tcp:1"}));
  EXPECT_EQ(error(R"({"disk": ["path=/a.img", "readonly=on"]})"),
            prefix() + "/disk/1: " + error_of({"run", "--disk", "readonly=on"}));
  EXPECT_EQ(error(R"({"expect": ["fine", "[a"]})"), prefix() + "/expect/1: " + error_of({"run", "--expect", "[a"}));
  EXPECT_EQ(error(R"({"kernel": "/nonexistent/bzImage"})"),
            prefix() + "/kernel: --kernel '/nonexistent/bzImage': No such file or directory");
  EXPECT_EQ(error(R"({"seccomp": "maybe"})"), prefix() + "/seccomp: " + error_of({"run", "--seccomp", "maybe"}));
  EXPECT_EQ(error(R"({"log-level": "loud"})"), prefix() + "/log-level: " + error_of({"run", "--log-level", "loud"}));
  EXPECT_EQ(error(R"({"timeout": "soon"})"), prefix() + "/timeout: " + error_of({"run", "--timeout", "soon"}));
  EXPECT_EQ(error(R"({"cpu-features": "-bogus"})"),
            prefix() + "/cpu-features: " + error_of({"run", "--cpu-features", "-bogus"}));
  EXPECT_EQ(error(R"({"send-keys": "a,,b"})"), prefix() + "/send-keys: " + error_of({"run", "--send-keys", "a,,b"}));
  EXPECT_EQ(error(R"({"console-log": "c,max-size=big"})"),
            prefix() + "/console-log: " + error_of({"run", "--console-log", "c,max-size=big"}));
  EXPECT_EQ(error(R"({"net": ["tap=a,mac=02:00:00:00:00:01", "tap=b,mac=02:00:00:00:00:01"]})"),
            prefix() + "/net: " +
                error_of({"run", "--net", "tap=a,mac=02:00:00:00:00:01", "--net", "tap=b,mac=02:00:00:00:00:01"}));
  // CLI11's own conversion and range checks, without the repeated "--cpus: ".
  const std::string cpus = error(R"({"cpus": 100})");
  EXPECT_TRUE(cpus.starts_with(prefix() + "/cpus: ")) << cpus;
  EXPECT_EQ(cpus.find("--cpus"), std::string::npos) << cpus;
  EXPECT_NE(cpus.find("100"), std::string::npos) << cpus;
  EXPECT_TRUE(error(R"({"debug-exit-port": "port"})").starts_with(prefix() + "/debug-exit-port: "));
  EXPECT_TRUE(error(R"({"cpus": -1})").starts_with(prefix() + "/cpus: "));
}

TEST_F(ConfigFile, ABadFlagNextToAFileIsStillTheFlags) {
  EXPECT_EQ(error(R"({"cpus": 2})", {"--memory", "12X"}), error_of({"run", "--memory", "12X"}));
}

TEST_F(ConfigFile, InvalidJsonNamesLineAndColumn) {
  const std::string bad = error("{\n  \"memory\": \"2G\",\n  \"cpus\": ,\n}\n");
  EXPECT_TRUE(bad.starts_with("--config " + dir_.path + "/vm.json:3:11: invalid JSON: syntax error")) << bad;
  EXPECT_EQ(bad.find("[json.exception"), std::string::npos) << bad;
  EXPECT_TRUE(error("").starts_with("--config " + dir_.path + "/vm.json:1:1: invalid JSON: ")) << error("");
  EXPECT_TRUE(error("{\"a\": 1} x").starts_with("--config " + dir_.path + "/vm.json:1:10: invalid JSON: "))
      << error("{\"a\": 1} x");
}

TEST_F(ConfigFile, FileProblems) {
  EXPECT_EQ(error_of({"run", "--config", dir_.path + "/missing.json"}),
            "--config '" + dir_.path + "/missing.json': No such file or directory");
  EXPECT_EQ(error_of({"run", "--config", dir_.path}), "--config '" + dir_.path + "': not a regular file");
  EXPECT_NE(error_of({"run", "--config"}).find("--config"), std::string::npos);
  EXPECT_TRUE(error(std::string((1 << 20) + 1, ' ')).ends_with("larger than 1048576 bytes"));
}

TEST_F(ConfigFile, PrintConfigShowsEffectiveValuesAndDoesNotRun) {
  const ParseOutcome outcome = run(R"({"memory": "2G", "disk": ["path=/a.img"]})", {"--cpus", "3", "--print-config"});
  EXPECT_FALSE(outcome.config.has_value());
  EXPECT_EQ(outcome.exit_status, kExitSuccess);
  EXPECT_EQ(outcome.error, "");
  ASSERT_TRUE(outcome.output.ends_with("}\n")) << outcome.output;
  const nlohmann::json printed = nlohmann::json::parse(outcome.output);
  EXPECT_EQ(printed["memory"], "2G");
  EXPECT_EQ(printed["cpus"], 3);
  EXPECT_EQ(printed["disk"], nlohmann::json::array({"path=/a.img"}));
  EXPECT_EQ(printed["seccomp"], "on");              // a default
  EXPECT_EQ(printed["debug-exit-port"], "0x501");  // a default, as the flag spells it
  EXPECT_EQ(printed["expect"], nlohmann::json::array());
  EXPECT_FALSE(printed.contains("kernel"));  // neither given nor defaulted: the embedded guest
  EXPECT_FALSE(printed.contains("config"));
  EXPECT_FALSE(printed.contains("print-config"));
  EXPECT_FALSE(printed.contains("help"));
  // A bad value is still an error, not a printed config.
  EXPECT_NE(error(R"({"memory": "12X"})", {"--print-config"}).find("/memory"), std::string::npos);
}

TEST_F(ConfigFile, PrintConfigRoundTrip) {
  const std::string kernel = dir_.write("bzImage", "k");
  const ParseOutcome first =
      parse({"run", "--kernel", kernel, "--cmdline", "console=ttyS0 root=/dev/vda", "--memory", "3G", "--cpus", "2",
             "--serial", "file:/tmp/s.txt,max-size=2M", "--disk", "path=/a.img,direct=on", "--disk", "path=/b.img",
             "--net", "user,hostfwd=tcp::2222-:22", "--expect", "login:", "--timeout", "90s", "--seccomp", "off",
             "--debug-exit-port", "244", "--send-keys", "ret", "--cpu-features", "-xsave", "--log-level", "info"});
  ASSERT_TRUE(first.config.has_value()) << first.error;

  std::vector<std::string> args{"run", "--kernel", kernel, "--cmdline", "console=ttyS0 root=/dev/vda", "--memory",
                                "3G", "--cpus", "2", "--serial", "file:/tmp/s.txt,max-size=2M", "--disk",
                                "path=/a.img,direct=on", "--disk", "path=/b.img", "--net", "user,hostfwd=tcp::2222-:22",
                                "--expect", "login:", "--timeout", "90s", "--seccomp", "off", "--debug-exit-port",
                                "244", "--send-keys", "ret", "--cpu-features", "-xsave", "--log-level", "info",
                                "--print-config"};
  const ParseOutcome printed = parse(args);
  ASSERT_EQ(printed.exit_status, kExitSuccess) << printed.error;
  const ParseOutcome again = parse({"run", "--config", file(printed.output)});
  ASSERT_TRUE(again.config.has_value()) << again.error;

  const vmm::MachineConfig& a = *first.config;
  const vmm::MachineConfig& b = *again.config;
  EXPECT_EQ(a.kernel, b.kernel);
  EXPECT_EQ(a.initrd, b.initrd);
  EXPECT_EQ(a.cmdline, b.cmdline);
  EXPECT_EQ(a.memory.size_bytes, b.memory.size_bytes);
  EXPECT_EQ(a.memory.backing, b.memory.backing);
  EXPECT_EQ(a.cpus, b.cpus);
  EXPECT_EQ(a.serial.kind, b.serial.kind);
  EXPECT_EQ(a.serial.path, b.serial.path);
  EXPECT_EQ(a.serial.max_size, b.serial.max_size);
  EXPECT_EQ(a.debug_exit_port, b.debug_exit_port);
  ASSERT_TRUE(b.key_injection.has_value());
  EXPECT_EQ(a.key_injection->keys, b.key_injection->keys);
  EXPECT_EQ(a.hidden_cpuid, b.hidden_cpuid);
  ASSERT_EQ(a.disks.size(), b.disks.size());
  for (size_t i = 0; i < a.disks.size(); ++i) {
    EXPECT_EQ(a.disks[i].path, b.disks[i].path);
    EXPECT_EQ(a.disks[i].direct, b.disks[i].direct);
    EXPECT_EQ(a.disks[i].readonly, b.disks[i].readonly);
  }
  ASSERT_EQ(b.nics.size(), 1u);
  EXPECT_EQ(b.nics[0].user.host_forwards.size(), 1u);
  EXPECT_EQ(a.harness.expect, b.harness.expect);
  EXPECT_EQ(a.harness.timeout, b.harness.timeout);
  EXPECT_EQ(a.seccomp, b.seccomp);
  EXPECT_EQ(first.log.level, again.log.level);
  // And printing the file's config gives the same document: nothing lost or added.
  const ParseOutcome reprinted = parse({"run", "--config", file(printed.output), "--print-config"});
  EXPECT_EQ(reprinted.output, printed.output);
}

// The generic parts, on a small command with a flag (keel run has no
// configurable flag yet).
TEST(ConfigFileGeneric, BooleanFlags) {
  TempDir dir;
  for (const auto& [json, expected] :
       std::vector<std::pair<std::string, bool>>{{R"({"verbose": true})", true}, {R"({"verbose": false})", false}}) {
    CLI::App app;
    ConfigFileState state;
    add_config_file_options(app, state);
    bool verbose = false;
    app.add_flag("--verbose", verbose);
    app.parse(std::vector<std::string>{dir.write("f.json", json), "--config"});  // CLI11 takes argv reversed
    EXPECT_EQ(verbose, expected) << json;
    EXPECT_EQ(nlohmann::json::parse(effective_config_json(app))["verbose"], expected);
  }
  CLI::App app;
  ConfigFileState state;
  add_config_file_options(app, state);
  app.add_flag("--verbose");
  const std::string path = dir.write("f.json", R"({"verbose": "yes"})");
  try {
    app.parse(std::vector<std::string>{path, "--config"});
    ADD_FAILURE() << "a string for a flag was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--config " + path + ": /verbose: expected true or false (--verbose takes no value), got a string");
  }
}

TEST(ConfigFileGeneric, LineAndColumn) {
  EXPECT_EQ(line_and_column("abc", 0), (std::pair<size_t, size_t>{1, 1}));
  EXPECT_EQ(line_and_column("abc", 2), (std::pair<size_t, size_t>{1, 3}));
  EXPECT_EQ(line_and_column("a\nbc\nd", 3), (std::pair<size_t, size_t>{2, 2}));
  EXPECT_EQ(line_and_column("a\nbc\nd", 5), (std::pair<size_t, size_t>{3, 1}));
  EXPECT_EQ(line_and_column("a\n", 99), (std::pair<size_t, size_t>{2, 1}));  // past the end: the end
}

TEST(ConfigFileGeneric, JsonPointerTokens) {
  EXPECT_EQ(json_pointer_token("disk"), "disk");
  EXPECT_EQ(json_pointer_token("a/b~c"), "a~1b~0c");
}

}  // namespace
}  // namespace keel::cli
