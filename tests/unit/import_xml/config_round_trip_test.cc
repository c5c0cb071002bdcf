// The importer's output is what `keel run --config` accepts: fed through
// keel's own command-line parser with --print-config, it must pass every
// check a run makes before KVM, and come back with the same values.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "src/cli/command_line.h"
#include "src/import_xml/domain_importer.h"
#include "src/import_xml/import_command.h"

namespace keel::import_xml {
namespace {

using Json = nlohmann::ordered_json;

cli::ParseOutcome parse(std::vector<std::string> args) {
  args.insert(args.begin(), "keel");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  return cli::parse_command_line(static_cast<int>(args.size()), argv.data());
}

class RoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/keel-import-rt-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    for (const char* name : {"vmlinuz", "initrd.img", "root.img", "data.img"}) std::ofstream(dir_ + "/" + name) << "x";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string xml() const {
    return "<domain type='kvm'><name>web-1</name><memory unit='GiB'>2</memory>"
           "<currentMemory unit='GiB'>1</currentMemory><vcpu placement='static'>2</vcpu>"
           "<memoryBacking><source type='memfd'/></memoryBacking>"
           "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>" +
           dir_ + "/vmlinuz</kernel><initrd>" + dir_ + "/initrd.img</initrd>" +
           "<cmdline>console=ttyS0 root=/dev/vda quiet</cmdline></os><clock offset='utc'/><devices>"
           "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='" +
           dir_ + "/root.img'/><target dev='vda' bus='virtio'/></disk>"
           "<disk type='file' device='disk'><source file='" +
           dir_ + "/data.img'/><target dev='vdb' bus='virtio'/><readonly/><serial>DATA</serial></disk>"
           "<interface type='ethernet'><target dev='tap7'/><mac address='52:54:00:aa:bb:cc'/><model type='virtio'/>"
           "</interface><interface type='user'><model type='e1000'/></interface>"
           "<serial type='file'><source path='" +
           dir_ + "/console.log'/><target port='0'/></serial>"
           "<console type='file'><source path='" +
           dir_ + "/console.log'/><target type='serial' port='0'/></console></devices></domain>";
  }

  std::string dir_;
};

TEST_F(RoundTrip, ConfigParserAcceptsTheImportAndKeepsItsValues) {
  const ImportedDomain domain = import_domain(xml());
  const std::string config_path = dir_ + "/vm.json";
  std::ofstream(config_path) << domain.config.dump(2);
  const cli::ParseOutcome outcome = parse({"run", "--config", config_path, "--print-config"});
  ASSERT_EQ(outcome.exit_status, 0) << outcome.error;
  const Json effective = Json::parse(outcome.output);
  for (const auto& [key, value] : domain.config.items()) EXPECT_EQ(effective[key], value) << key;
  EXPECT_EQ(effective["memory"], "2G");
  EXPECT_EQ(effective["memory-backing"], "memfd");
  EXPECT_EQ(effective["net"], Json::parse(R"(["tap=tap7,model=virtio,mac=52:54:00:aa:bb:cc", "user,model=e1000"])"));
}

TEST_F(RoundTrip, TheMachineConfigIsTheDomain) {
  const ImportedDomain domain = import_domain(xml());
  const std::string config_path = dir_ + "/vm.json";
  std::ofstream(config_path) << domain.config.dump(2);
  const cli::ParseOutcome outcome = parse({"run", "--config", config_path});
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  const vmm::MachineConfig& config = *outcome.config;
  EXPECT_EQ(config.memory.size_bytes, 2ull << 30);
  EXPECT_EQ(config.cpus, 2u);
  EXPECT_EQ(config.cmdline, "console=ttyS0 root=/dev/vda quiet");
  ASSERT_EQ(config.disks.size(), 2u);
  EXPECT_TRUE(config.disks[0].direct);
  EXPECT_TRUE(config.disks[1].readonly);
  EXPECT_EQ(config.disks[1].serial, "DATA");
  ASSERT_EQ(config.nics.size(), 2u);
  EXPECT_EQ(config.nics[0].tap_name, "tap7");
  EXPECT_EQ(config.serial.kind, vmm::ConsoleKind::file);
  EXPECT_EQ(config.name, "web-1");
}

TEST_F(RoundTrip, ArgsFormKeepsAwkwardValues) {
  std::string text = xml();
  const std::string plain = "console=ttyS0 root=/dev/vda quiet";
  text.replace(text.find(plain), plain.size(), "-v it&apos;s \"$HOME\" `x` a\\b");
  const ImportedDomain domain = import_domain(text);
  const std::string words_path = dir_ + "/words";
  const std::string command = "sh -c 'for w in \"$@\"; do printf \"%s\\0\" \"$w\"; done' sh " +
                              keel_run_command_line(domain.config).substr(5) + " > " + words_path;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(words_path, std::ios::binary);
  std::vector<std::string> words;
  for (std::string word; std::getline(in, word, '\0');) words.push_back(word);
  const cli::ParseOutcome outcome = parse(words);
  ASSERT_TRUE(outcome.config.has_value()) << outcome.error;
  EXPECT_EQ(outcome.config->cmdline, "-v it's \"$HOME\" `x` a\\b");
}

TEST_F(RoundTrip, ArgsFormIsTheSameCommandLine) {
  const ImportedDomain domain = import_domain(xml());
  // The words of keel_run_command_line, unquoted by a real shell.
  const std::string line = keel_run_command_line(domain.config);
  const std::string words_path = dir_ + "/words";
  const std::string command = "sh -c 'for w in \"$@\"; do printf \"%s\\0\" \"$w\"; done' sh " +
                              line.substr(std::string("keel ").size()) + " > " + words_path;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(words_path, std::ios::binary);
  std::vector<std::string> words;
  for (std::string word; std::getline(in, word, '\0');) words.push_back(word);
  ASSERT_GT(words.size(), 10u);
  EXPECT_EQ(words[0], "run");
  words.push_back("--print-config");
  const cli::ParseOutcome outcome = parse(words);
  ASSERT_EQ(outcome.exit_status, 0) << outcome.error;
  const Json effective = Json::parse(outcome.output);
  for (const auto& [key, value] : domain.config.items()) EXPECT_EQ(effective[key], value) << key;
}

}  // namespace
}  // namespace keel::import_xml

namespace keel::import_xml {
namespace {

TEST(ImportXmlSubcommand, ParsedIntoTheOutcome) {
  const cli::ParseOutcome outcome = parse({"import-xml", "--args", "vm.xml"});
  ASSERT_TRUE(outcome.import_xml.has_value()) << outcome.error;
  EXPECT_EQ(outcome.import_xml->path, "vm.xml");
  EXPECT_TRUE(outcome.import_xml->args);
  EXPECT_FALSE(outcome.config.has_value());
  EXPECT_FALSE(outcome.ctl.has_value());
}

TEST(ImportXmlSubcommand, MissingFileIsAUsageError) {
  const cli::ParseOutcome outcome = parse({"import-xml"});
  EXPECT_FALSE(outcome.import_xml.has_value());
  EXPECT_EQ(outcome.exit_status, cli::kExitError);
  EXPECT_EQ(outcome.error, "DOMAIN.xml is required");
}

}  // namespace
}  // namespace keel::import_xml
