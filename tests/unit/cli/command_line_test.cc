#include "src/cli/command_line.h"
#include "src/cli/capped_file_sink.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "keel/config_error.h"
#include "src/net/net_spec.h"
#include "tests/unit/cli/parse_test_support.h"

namespace keel::cli {
namespace {

using test_support::error_of;
using test_support::parse;

class TempFile {
 public:
  TempFile() {
    char pattern[] = "/tmp/keel-cli-XXXXXX";
    const int fd = mkstemp(pattern);
    close(fd);
    path = pattern;
    std::ofstream(path) << "image";
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::string path;
};

TEST(CommandLine, RunDefaults) {
  const ParseOutcome outcome = parse({"run"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  const vmm::MachineConfig& config = *outcome.config;
  EXPECT_FALSE(config.kernel.has_value());  // the embedded default guest
  EXPECT_FALSE(config.initrd.has_value());
  EXPECT_EQ(config.cmdline, "");
  EXPECT_EQ(config.memory.size_bytes, 512ull << 20);
  EXPECT_EQ(config.cpus, 1u);
  EXPECT_EQ(config.serial.kind, vmm::ConsoleKind::stdio);
  EXPECT_EQ(config.debug_exit_port, 0x501);
  EXPECT_FALSE(config.key_injection.has_value());
  EXPECT_EQ(outcome.log.level, spdlog::level::warn);
  EXPECT_FALSE(outcome.log.file.has_value());
}

TEST(CommandLine, RunWithEverything) {
  TempFile kernel;
  TempFile initrd;
  const ParseOutcome outcome =
      parse({"run", "--kernel", kernel.path, "--initrd", initrd.path, "--cmdline", "console=ttyS0 quiet", "--memory",
             "2G", "--cpus", "4", "--serial", "unix:/tmp/c.sock", "--log-level", "debug", "--log-file", "/tmp/k.log",
             "--debug-exit-port", "0xf4", "--send-keys", "a,b,shift-c,ret", "--send-keys-after", "login: $"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  const vmm::MachineConfig& config = *outcome.config;
  EXPECT_EQ(config.kernel, kernel.path);
  EXPECT_EQ(config.initrd, initrd.path);
  EXPECT_EQ(config.cmdline, "console=ttyS0 quiet");
  EXPECT_EQ(config.memory.size_bytes, 2ull << 30);
  EXPECT_EQ(config.cpus, 4u);
  EXPECT_EQ(config.serial.kind, vmm::ConsoleKind::unix_socket);
  EXPECT_EQ(config.serial.path, "/tmp/c.sock");
  EXPECT_EQ(config.debug_exit_port, 0xf4);
  ASSERT_TRUE(config.key_injection.has_value());
  EXPECT_EQ(config.key_injection->keys, (std::vector<std::string>{"a", "b", "shift-c", "ret"}));
  EXPECT_EQ(config.key_injection->after_console_regex, "login: $");
  EXPECT_EQ(outcome.log.level, spdlog::level::debug);
  EXPECT_EQ(outcome.log.file, std::filesystem::path("/tmp/k.log"));
}

TEST(CommandLine, MemorySizes) {
  EXPECT_EQ(parse_memory_size("512M"), 512ull << 20);
  EXPECT_EQ(parse_memory_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_memory_size("1024"), 1024ull << 20);  // plain number: MiB, as QEMU -m
  EXPECT_EQ(parse_memory_size("4096K"), 4096ull << 10);
  EXPECT_EQ(parse_memory_size("1T"), 1ull << 40);
  EXPECT_EQ(parse_memory_size("3g"), 3ull << 30);
  EXPECT_EQ(parse(std::vector<std::string>{"run", "--memory", "1024"}).config->memory.size_bytes, 1ull << 30);
}

TEST(CommandLine, BadMemorySizes) {
  const std::string expected = "invalid --memory '12X': expected a size like 512M or 4G";
  EXPECT_EQ(error_of({"run", "--memory", "12X"}), expected);
  for (const char* bad : {"", "M", "1.5G", "-1", "+1G", "12MB", " 1G", "0x10", "G1"}) {
    EXPECT_THROW(parse_memory_size(bad), ConfigError) << bad;
  }
  EXPECT_EQ(error_of({"run", "--memory", "0"}), "invalid --memory '0': the size must not be zero");
  EXPECT_EQ(error_of({"run", "--memory", "16777216T"}), "invalid --memory '16777216T': too large");  // 2^64
  EXPECT_EQ(error_of({"run", "--memory", "99999999999999999999999"}),
            "invalid --memory '99999999999999999999999': too large");
}

TEST(CommandLine, MemoryBacking) {
  EXPECT_EQ(parse({"run"}).config->memory.backing, MemoryBacking::anonymous);
  EXPECT_EQ(parse({"run", "--memory-backing", "memfd"}).config->memory.backing, MemoryBacking::memfd);
  const ParseOutcome huge = parse({"run", "--memory-backing", "hugetlbfs:/dev/hugepages"});
  ASSERT_TRUE(huge.config.has_value()) << huge.error;
  EXPECT_EQ(huge.config->memory.backing, MemoryBacking::hugetlbfs);
  EXPECT_EQ(huge.config->memory.hugetlbfs_path, "/dev/hugepages");
  const std::string expected = "expected anonymous, memfd or hugetlbfs:DIR";
  for (const char* bad : {"shm", "hugetlbfs", "hugetlbfs:", "MEMFD", ""}) {
    EXPECT_NE(error_of({"run", "--memory-backing", bad}).find(expected), std::string::npos) << bad;
  }
}

TEST(CommandLine, CpuBounds) {
  EXPECT_EQ(parse({"run", "--cpus", "64"}).config->cpus, 64u);
  EXPECT_EQ(parse({"run", "--cpus", "1"}).config->cpus, 1u);
  for (const char* bad : {"0", "65", "-1", "4294967297", "two", ""}) {
    EXPECT_NE(error_of({"run", "--cpus", bad}).find("--cpus"), std::string::npos) << bad;
  }
}

TEST(CommandLine, DebugExitPortIsSixteenBits) {
  EXPECT_EQ(parse({"run", "--debug-exit-port", "0x501"}).config->debug_exit_port, 0x501);
  EXPECT_EQ(parse({"run", "--debug-exit-port", "65535"}).config->debug_exit_port, 0xffff);
  EXPECT_NE(error_of({"run", "--debug-exit-port", "65536"}).find("--debug-exit-port"), std::string::npos);
  EXPECT_NE(error_of({"run", "--debug-exit-port", "-1"}).find("--debug-exit-port"), std::string::npos);
}

TEST(CommandLine, KernelAndInitrdMustBeReadableFiles) {
  EXPECT_EQ(error_of({"run", "--kernel", "/nonexistent/bzImage"}),
            "--kernel '/nonexistent/bzImage': No such file or directory");
  EXPECT_EQ(error_of({"run", "--kernel", "/tmp"}), "--kernel '/tmp': not a regular file");
  TempFile kernel;
  EXPECT_EQ(error_of({"run", "--kernel", kernel.path, "--initrd", "/nonexistent/initrd"}),
            "--initrd '/nonexistent/initrd': No such file or directory");
  if (geteuid() != 0) {  // root reads anything
    std::filesystem::permissions(kernel.path, std::filesystem::perms::none);
    EXPECT_EQ(error_of({"run", "--kernel", kernel.path}), "--kernel '" + kernel.path + "': Permission denied");
  }
}

TEST(CommandLine, Version) {
  const ParseOutcome outcome = parse({"--version"});
  EXPECT_FALSE(outcome.config.has_value());
  EXPECT_EQ(outcome.exit_status, 0);
  EXPECT_EQ(outcome.output, "keel 0.1.0\n");
  EXPECT_TRUE(outcome.error.empty());
}

TEST(CommandLine, HelpExitsZero) {
  const ParseOutcome top = parse({"--help"});
  EXPECT_FALSE(top.config.has_value());
  EXPECT_EQ(top.exit_status, 0);
  EXPECT_NE(top.output.find("run"), std::string::npos);
  EXPECT_TRUE(top.error.empty());

  const ParseOutcome run = parse({"run", "--help"});
  EXPECT_EQ(run.exit_status, 0);
  for (const char* flag : {"--kernel", "--initrd", "--cmdline", "--memory", "--cpus", "--serial", "--log-level",
                           "--log-file", "--debug-exit-port", "--send-keys", "--send-keys-after"}) {
    EXPECT_NE(run.output.find(flag), std::string::npos) << flag;
  }
}

TEST(CommandLine, NoCommandPrintsUsageAndFails) {
  const ParseOutcome outcome = parse({});
  EXPECT_FALSE(outcome.config.has_value());
  EXPECT_EQ(outcome.exit_status, kExitError);
  EXPECT_NE(outcome.usage.find("run"), std::string::npos);
  EXPECT_EQ(outcome.error, "no command given (try 'keel run --help')");
}

TEST(CommandLine, UnknownFlagsAndCommandsFail) {
  EXPECT_NE(error_of({"run", "--bogus"}).find("--bogus"), std::string::npos);
  EXPECT_EQ(error_of({"fly"}), "unknown command 'fly' (expected run, ctl or import-xml)");
  EXPECT_NE(error_of({"run", "stray"}).find("stray"), std::string::npos);
  EXPECT_NE(error_of({"run", "--kernel"}).find("--kernel"), std::string::npos);  // missing value
}

TEST(CommandLine, SerialBackends) {
  EXPECT_EQ(parse({"run", "--serial", "none"}).config->serial.kind, vmm::ConsoleKind::none);
  EXPECT_EQ(parse({"run", "--serial", "pty"}).config->serial.kind, vmm::ConsoleKind::pty);
  EXPECT_EQ(parse({"run", "--serial", "file:/tmp/out"}).config->serial.kind, vmm::ConsoleKind::file);
  EXPECT_EQ(error_of({"run", "--serial", "foo"}),
            "unknown serial backend 'foo' (expected stdio, file:PATH[,max-size=SIZE], pty, unix:PATH or none)");
  EXPECT_EQ(error_of({"run", "--serial", "file:"}), "file: needs a path");
}

TEST(CommandLine, LogLevels) {
  for (const auto& [name, level] : std::vector<std::pair<std::string, spdlog::level::level_enum>>{
           {"trace", spdlog::level::trace}, {"info", spdlog::level::info}, {"error", spdlog::level::err},
           {"off", spdlog::level::off}}) {
    EXPECT_EQ(parse({"run", "--log-level", name}).log.level, level) << name;
  }
  EXPECT_EQ(error_of({"run", "--log-level", "loud"}),
            "invalid --log-level 'loud': expected trace, debug, info, warn, error or off");
}

TEST(CommandLine, SendKeys) {
  EXPECT_EQ(parse_key_list("ret"), std::vector<std::string>{"ret"});
  EXPECT_EQ(parse_key_list("ctrl-alt-delete,kp_add,f12,1"),
            (std::vector<std::string>{"ctrl-alt-delete", "kp_add", "f12", "1"}));
  for (const char* bad : {"", "a,,b", "a,", ",a", "A", "shift-", "-a", "a--b", "a b", "é"}) {
    EXPECT_THROW(parse_key_list(bad), ConfigError) << bad;
  }
  EXPECT_EQ(error_of({"run", "--send-keys", "a,,b"}),
            "invalid --send-keys 'a,,b': bad key '' (expected QEMU key names such as a, ret, shift-c, separated by "
            "commas)");

  // Without --send-keys-after the keys are typed right after boot.
  const ParseOutcome immediate = parse({"run", "--send-keys", "x"});
  ASSERT_TRUE(immediate.config->key_injection.has_value());
  EXPECT_EQ(immediate.config->key_injection->after_console_regex, "");

  EXPECT_NE(error_of({"run", "--send-keys-after", "login:"}).find("--send-keys"), std::string::npos);
  EXPECT_NE(error_of({"run", "--send-keys", "a", "--send-keys-after", "(unclosed"}).find("invalid --send-keys-after '(unclosed'"),
            std::string::npos);
}

TEST(CommandLine, TooManyKeys) {
  std::string many = "a";
  for (int i = 0; i < 5000; ++i) many += ",a";
  EXPECT_THROW(parse_key_list(many), ConfigError);
}

TEST(CommandLine, NoHarnessByDefault) {
  const ParseOutcome outcome = parse({"run"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_FALSE(outcome.config->harness.enabled());
  EXPECT_TRUE(outcome.config->hidden_cpuid.empty());
}

TEST(CommandLine, HarnessOptions) {
  const ParseOutcome outcome =
      parse({"run", "--expect", "Linux version", "--fail-on", "Kernel panic", "--expect", "x86/fpu:", "--expect=-x",
             "--fail-on=Oops", "--timeout", "2m", "--junit", "/tmp/j.xml", "--result-json", "/tmp/r.json",
             "--console-log", "/tmp/c.log"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  const harness::HarnessOptions& h = outcome.config->harness;
  EXPECT_TRUE(h.enabled());
  EXPECT_EQ(h.expect, (std::vector<std::string>{"Linux version", "x86/fpu:", "-x"}));  // in order
  EXPECT_EQ(h.fail_on, (std::vector<std::string>{"Kernel panic", "Oops"}));
  ASSERT_TRUE(h.timeout.has_value());
  EXPECT_EQ(*h.timeout, std::chrono::minutes(2));
  EXPECT_EQ(h.junit, std::filesystem::path("/tmp/j.xml"));
  EXPECT_EQ(h.result_json, std::filesystem::path("/tmp/r.json"));
  EXPECT_EQ(h.console_log, std::filesystem::path("/tmp/c.log"));
}

TEST(CommandLine, EachHarnessOptionAloneEnablesIt) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--expect", "a"}, {"--fail-on", "b"}, {"--timeout", "500ms"}, {"--junit", "j"},
           {"--result-json", "r"}, {"--console-log", "c"}}) {
    args.insert(args.begin(), "run");
    const ParseOutcome outcome = parse(args);
    ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
    EXPECT_TRUE(outcome.config->harness.enabled()) << args[1];
  }
}

TEST(CommandLine, OutputFilesTakeAMaxSize) {
  const ParseOutcome outcome = parse({"run", "--console-log", "/tmp/c.log,max-size=64K", "--log-file",
                                      "/tmp/k.log,max-size=2", "--serial", "file:/tmp/s.log,max-size=1G"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_EQ(outcome.config->harness.console_log, std::filesystem::path("/tmp/c.log"));
  EXPECT_EQ(outcome.config->harness.console_log_max_size, 64u << 10);
  EXPECT_EQ(outcome.log.file, std::filesystem::path("/tmp/k.log"));
  EXPECT_EQ(outcome.log.file_max_size, 2u << 20);  // a plain number is MiB, as for --memory
  EXPECT_EQ(outcome.config->serial.path, "/tmp/s.log");
  EXPECT_EQ(outcome.config->serial.max_size, 1u << 30);

  const ParseOutcome defaults = parse({"run", "--console-log", "c", "--log-file", "k"});
  ASSERT_TRUE(defaults.config.has_value()) << defaults.error;
  EXPECT_EQ(defaults.config->harness.console_log_max_size, 1u << 30);
  EXPECT_EQ(defaults.log.file_max_size, 1u << 30);
}

TEST(CommandLine, BadMaxSizesAreOneLineNamingTheValue) {
  EXPECT_EQ(error_of({"run", "--console-log", "c.log,max-size=big"}),
            "invalid --console-log max-size 'big': expected a size like 512M or 4G");
  EXPECT_EQ(error_of({"run", "--log-file", "k.log,max-size=0"}),
            "invalid --log-file max-size '0': the size must not be zero");
  EXPECT_EQ(error_of({"run", "--log-file", "k.log,rotate=3"}),
            "--log-file 'k.log,rotate=3': unknown option 'rotate' (expected max-size=SIZE; paths cannot contain "
            "commas)");
  EXPECT_EQ(error_of({"run", "--serial", "file:s.log,max-size=1X"}),
            "invalid --serial file: max-size '1X': expected a size like 512M or 4G");
}

TEST(CappedFileSink, StopsAtTheCapWithOneNote) {
  const std::string path = "/tmp/keel-capped-sink-" + std::to_string(getpid()) + ".log";
  std::filesystem::remove(path);
  {
    auto sink = std::make_shared<CappedFileSink>(path, 30);
    spdlog::logger logger("capped-test", sink);
    logger.set_pattern("%v");
    logger.warn("0123456789");  // 11 bytes with the newline
    logger.warn("abcdefghij");  // 22
    logger.warn("klmnopqrst");  // 33 > 30: dropped, the note instead
    logger.warn("more");
    logger.flush();
    EXPECT_TRUE(sink->capped());
    EXPECT_EQ(sink->written(), 22u);
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(),
            "0123456789\nabcdefghij\n"
            "[keel: log truncated at 22 bytes (--log-file max-size 30); further messages are dropped]\n");
  std::filesystem::remove(path);
}

TEST(CommandLine, ExpectTakesOneValuePerFlag) {
  EXPECT_FALSE(parse({"run", "--expect", "a", "b"}).config.has_value());
}

TEST(CommandLine, BadHarnessValuesNameTheFlag) {
  EXPECT_NE(error_of({"run", "--expect", "("}).find("--expect"), std::string::npos);
  EXPECT_NE(error_of({"run", "--fail-on", "[a"}).find("--fail-on"), std::string::npos);
  EXPECT_NE(error_of({"run", "--timeout", "soon"}).find("--timeout"), std::string::npos);
  EXPECT_NE(error_of({"run", "--timeout", "-5s"}).find("--timeout"), std::string::npos);
  EXPECT_NE(error_of({"run", "--expect"}).find("--expect"), std::string::npos);
}

TEST(CommandLine, DisksInOrder) {
  const ParseOutcome outcome = parse({"run", "--disk", "path=/a.img,serial=one", "--disk",
                                      "path=/b.img,readonly=on,direct=on"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  const auto& disks = outcome.config->disks;
  ASSERT_EQ(disks.size(), 2u);
  EXPECT_EQ(disks[0].path, "/a.img");
  EXPECT_EQ(disks[0].serial, "one");
  EXPECT_FALSE(disks[0].readonly);
  EXPECT_EQ(disks[1].path, "/b.img");
  EXPECT_TRUE(disks[1].readonly);
  EXPECT_TRUE(disks[1].direct);
  EXPECT_TRUE(parse({"run"}).config->disks.empty());
}

TEST(CommandLine, DiskTakesOneSpecPerFlag) {
  EXPECT_NE(error_of({"run", "--disk", "path=/a.img", "path=/b.img"}), "");
}

TEST(CommandLine, BadDiskSpecIsOneLineNamingTheProblem) {
  EXPECT_NE(error_of({"run", "--disk", "readonly=on"}).find("path"), std::string::npos);
  EXPECT_NE(error_of({"run", "--disk", "path=/a.img,colour=red"}).find("colour"), std::string::npos);
  EXPECT_NE(error_of({"run", "--disk", "path=/a.img,readonly=maybe"}).find("maybe"), std::string::npos);
}

TEST(CommandLine, NicsInOrder) {
  const ParseOutcome outcome = parse({"run", "--net", "tap=tap7,model=e1000,mac=02:00:00:00:00:07", "--net",
                                      "user,hostfwd=udp:127.0.0.1:5555-:7,net=192.168.76.0/24"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  const auto& nics = outcome.config->nics;
  ASSERT_EQ(nics.size(), 2u);
  EXPECT_EQ(nics[0].backend, net::NetBackendKind::tap);
  EXPECT_EQ(nics[0].tap_name, "tap7");
  EXPECT_EQ(nics[0].model, net::NicModel::e1000);
  EXPECT_EQ(nics[1].backend, net::NetBackendKind::user);
  EXPECT_EQ(nics[1].model, net::NicModel::virtio);
  ASSERT_EQ(nics[1].user.host_forwards.size(), 1u);
  EXPECT_TRUE(parse({"run"}).config->nics.empty());
}

TEST(CommandLine, BadNicSpecIsOneLineNamingTheProblem) {
  EXPECT_NE(error_of({"run", "--net", "tap=t0,model=rtl8139"}).find("rtl8139"), std::string::npos);
  EXPECT_NE(error_of({"run", "--net", "tap=t0,mac=01:00:00:00:00:01"}).find("01:00:00:00:00:01"),
            std::string::npos);
  EXPECT_NE(error_of({"run", "--net", "user,hostfwd=tcp::0-:22"}).find("hostfwd"), std::string::npos);
  // Two cards with one MAC are refused before anything is opened.
  EXPECT_NE(error_of({"run", "--net", "tap=a,mac=02:00:00:00:00:01", "--net", "tap=b,mac=02:00:00:00:00:01"})
                .find("02:00:00:00:00:01"),
            std::string::npos);
}

TEST(CommandLine, CpuFeatures) {
  const ParseOutcome outcome = parse({"run", "--cpu-features", "-cx16,-tsc-deadline"});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_EQ(outcome.config->hidden_cpuid, kvm::parse_cpu_feature_list("-cx16,-tsc-deadline"));
  EXPECT_EQ(outcome.config->hidden_cpuid.size(), 2u);
  const std::string error = error_of({"run", "--cpu-features", "-cx16,-bogus"});
  EXPECT_NE(error.find("--cpu-features"), std::string::npos) << error;
  EXPECT_NE(error.find("bogus"), std::string::npos) << error;
}

}  // namespace
}  // namespace keel::cli
