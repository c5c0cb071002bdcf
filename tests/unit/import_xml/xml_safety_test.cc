// Hostile input: entities (XXE, entity bombs), bad XML, oversized and
// non-regular files.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "src/import_xml/domain_importer.h"
#include "src/import_xml/import_command.h"
#include "tests/unit/import_xml/import_test_support.h"

namespace keel::import_xml {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using test_support::domain_xml;
using test_support::import_error;

// Runs `keel import-xml PATH` in-process: {status, stdout, stderr}.
struct RunResult {
  int status;
  std::string out;
  std::string err;
};

std::string slurp(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[4096];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  std::fclose(file);
  return text;
}

RunResult run(const std::string& path, bool args = false) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  const int status = run_import_xml(ImportOptions{.path = path, .args = args}, out, err);
  return {status, slurp(out), slurp(err)};
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/keel-import-xml-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir_;
};

TEST(XmlSafety, ExternalEntityIsNeverExpanded) {
  const std::string xxe =
      "<?xml version='1.0'?>\n<!DOCTYPE domain [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>\n" +
      domain_xml().replace(domain_xml().find("vm1"), 3, "&xxe;");
  const std::string error = import_error(xxe);
  EXPECT_THAT(error, HasSubstr("a <!DOCTYPE> is not allowed"));
  EXPECT_THAT(error, Not(HasSubstr("root:")));
}

TEST(XmlSafety, InternalEntitiesAndBombsAreRefused) {
  std::string bomb = "<!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'>";
  for (char c = 'b'; c <= 'j'; ++c) {
    const char p = static_cast<char>(c - 1);  // each entity is ten of the one before: 10^10 bytes
    bomb += fmt::format("<!ENTITY {} '&{};&{};&{};&{};&{};&{};&{};&{};&{};&{};'>", c, p, p, p, p, p, p, p, p, p, p);
  }
  bomb += "]>" + domain_xml().replace(domain_xml().find("vm1"), 3, "&j;");
  EXPECT_THAT(import_error(bomb), HasSubstr("a <!DOCTYPE> is not allowed"));
  // An external DTD only, no internal subset: refused too, never fetched.
  EXPECT_THAT(import_error("<!DOCTYPE domain SYSTEM 'http://127.0.0.1:1/d.dtd'>" + domain_xml()),
              HasSubstr("a <!DOCTYPE> is not allowed"));
}

TEST(XmlSafety, UndeclaredEntityIsAnXmlError) {
  EXPECT_THAT(import_error(domain_xml().replace(domain_xml().find("vm1"), 3, "&xxe;")),
              HasSubstr("not well-formed XML: Entity 'xxe' not defined"));
}

TEST(XmlSafety, BrokenXmlNamesLineAndColumn) {
  EXPECT_THAT(import_error("<domain>\n  <name>x</nam>\n</domain>"), HasSubstr("2:"));
  EXPECT_THAT(import_error("<domain>\n  <name>x</nam>\n</domain>"), HasSubstr("not well-formed XML"));
  EXPECT_THAT(import_error(""), HasSubstr("not well-formed XML"));
}

TEST_F(TempDir, OversizedFileIsRefusedUnparsed) {
  std::string big = domain_xml();
  big.insert(big.find("</domain>"), std::string(kMaxDomainXmlSize, ' '));
  const RunResult result = run(write("big.xml", big));
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.err, HasSubstr("larger than the 1048576 bytes a domain XML may have"));
  EXPECT_EQ(result.out, "");
}

TEST_F(TempDir, MissingDirectoryAndFifoAreOneLineErrors) {
  RunResult result = run(dir_ + "/none.xml");
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.err, "keel import-xml: '" + dir_ + "/none.xml': No such file or directory\n");
  result = run(dir_);
  EXPECT_EQ(result.err, "keel import-xml: '" + dir_ + "': not a regular file\n");
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  result = run(fifo);  // opened O_NONBLOCK: no writer needed to get the error
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.err, HasSubstr("not a regular file"));
}

TEST_F(TempDir, OutputAndWarningsGoWhereTheyBelong) {
  const std::string path = write("vm.xml", domain_xml("<graphics type='vnc'/>"));
  RunResult result = run(path);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(nlohmann::json::parse(result.out)["memory"], "256M");
  EXPECT_EQ(result.err, "keel import-xml: warning: " + path +
                            ": /domain/devices/graphics: dropped (keel has no such device; the guest runs without it)\n");
  result = run(path, true);
  EXPECT_EQ(result.out, "keel run --name vm1 --kernel /boot/vmlinuz --memory 256M --cpus 1 --serial none\n");
  const std::string bad = write("bad.xml", domain_xml("<disk type='file'><source file='/a'/><target bus='ide'/>"
                                                      "</disk>"));
  result = run(bad);
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "keel import-xml: " + bad +
                            ": /domain/devices/disk/target/@bus: 'ide' is not supported (allowed: virtio)\n");
}

TEST(ShellQuote, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(shell_quote("path=/a.img,readonly=on"), "path=/a.img,readonly=on");
  EXPECT_EQ(shell_quote("console=ttyS0 root=/dev/vda"), "'console=ttyS0 root=/dev/vda'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
}

}  // namespace
}  // namespace keel::import_xml
