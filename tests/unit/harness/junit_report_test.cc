#include "src/harness/junit_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "result_fixtures.h"
#include "src/harness/text_escape.h"

namespace keel::harness {
namespace {

using namespace std::chrono_literals;

// A small XML 1.0 well-formedness check: balanced elements, quoted
// attributes, known entities only, no character XML forbids. Returns "" or
// what is wrong.
std::string xml_problem(std::string_view xml) {
  std::vector<std::string> open;
  size_t i = 0;
  const auto bad_char = [](unsigned char c) { return c < 0x20 && c != '\t' && c != '\n' && c != '\r'; };
  const auto check_entity = [&](size_t at) -> bool {
    const size_t end = xml.find(';', at);
    if (end == std::string_view::npos) return false;
    const std::string_view name = xml.substr(at + 1, end - at - 1);
    if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") return true;
    return name.size() > 1 && name[0] == '#' && name.find_first_not_of("0123456789", 1) == std::string_view::npos;
  };
  if (xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0) != 0) return "no XML declaration";
  i = xml.find('\n') + 1;
  while (i < xml.size()) {
    const unsigned char c = static_cast<unsigned char>(xml[i]);
    if (bad_char(c)) return "forbidden character at " + std::to_string(i);
    if (c == '&') {
      if (!check_entity(i)) return "bad entity at " + std::to_string(i);
      ++i;
      continue;
    }
    if (c == '>') return "raw '>' in text at " + std::to_string(i);
    if (c != '<') {
      ++i;
      continue;
    }
    const bool closing = i + 1 < xml.size() && xml[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t name_start = j;
    while (j < xml.size() && (std::isalnum(static_cast<unsigned char>(xml[j])) || xml[j] == '-')) ++j;
    const std::string name(xml.substr(name_start, j - name_start));
    if (name.empty()) return "empty tag name at " + std::to_string(i);
    // Attributes: name="value" with no '<' or raw '"' inside the value.
    while (j < xml.size() && xml[j] != '>' && xml[j] != '/') {
      if (xml[j] == '"') {
        const size_t end = xml.find('"', j + 1);
        if (end == std::string_view::npos) return "unterminated attribute";
        for (size_t k = j + 1; k < end; ++k) {
          if (xml[k] == '<' || bad_char(static_cast<unsigned char>(xml[k]))) return "bad attribute character";
          if (xml[k] == '&' && !check_entity(k)) return "bad entity in attribute";
        }
        j = end + 1;
      } else {
        ++j;
      }
    }
    if (j >= xml.size()) return "unterminated tag";
    if (xml[j] == '/') {
      if (closing || j + 1 >= xml.size() || xml[j + 1] != '>') return "bad empty-element tag";
      i = j + 2;
      continue;
    }
    if (closing) {
      if (open.empty() || open.back() != name) return "mismatched </" + name + ">";
      open.pop_back();
    } else {
      open.push_back(name);
    }
    i = j + 1;
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

size_t count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

TEST(XmlChecker, CatchesBrokenDocuments) {
  const std::string head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  EXPECT_EQ(xml_problem(head + "<a><b/></a>"), "");
  EXPECT_NE(xml_problem(head + "<a><b></a>"), "");
  EXPECT_NE(xml_problem(head + "<a>x & y</a>"), "");
  EXPECT_NE(xml_problem(head + "<a>\x1b</a>"), "");
  EXPECT_NE(xml_problem(head + "<a m=\"<\"/>"), "");
}

TEST(JUnit, TimeoutReportGolden) {
  EXPECT_EQ(junit_xml(fixtures::timed_out()),
            R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="keel boot test" tests="5" failures="3" errors="0" time="30.000000">
  <testsuite name="keel boot test" tests="5" failures="3" errors="0" skipped="0" time="30.000000">
    <properties>
      <property name="reason" value="timeout"/>
      <property name="exit_status" value="4"/>
      <property name="timeout" value="30.000000"/>
      <property name="fail_on" value="Kernel panic"/>
    </properties>
    <testcase classname="keel boot test" name="expect 1: Linux version" time="1.500000"/>
    <testcase classname="keel boot test" name="expect 2: login:" time="28.500000">
      <failure type="timeout" message="not met: timeout after 30s">Linux version 6.1.0
Run /init as init process
</failure>
    </testcase>
    <testcase classname="keel boot test" name="expect 3: \$ $" time="0.000000">
      <failure type="not_reached" message="not reached: expectation 2 was not met"></failure>
    </testcase>
    <testcase classname="keel boot test" name="no --fail-on pattern matched" time="30.000000"/>
    <testcase classname="keel boot test" name="verdict" time="30.000000">
      <failure type="timeout" message="exit status 4: keel: timeout after 30s waiting for expectation 2/3 &apos;login:&apos;; last console lines: Linux version 6.1.0 | Run /init as init process">Linux version 6.1.0
Run /init as init process
</failure>
    </testcase>
    <system-out>Linux version 6.1.0
Run /init as init process
</system-out>
  </testsuite>
</testsuites>
)");
}

TEST(JUnit, PassingRunHasNoFailures) {
  const std::string xml = junit_xml(fixtures::all_met(), "smoke");
  EXPECT_EQ(xml_problem(xml), "");
  EXPECT_NE(xml.find("<testsuite name=\"smoke\" tests=\"4\" failures=\"0\" errors=\"0\""), std::string::npos) << xml;
  EXPECT_EQ(count(xml, "<testcase "), 4u);
  EXPECT_EQ(count(xml, "<failure"), 0u);
  EXPECT_NE(xml.find("name=\"expect 2: x86/fpu:\" time=\"26.250000\"/>"), std::string::npos) << xml;
}

TEST(JUnit, FailurePatternFailsItsTestCase) {
  HarnessResult r = fixtures::all_met();
  r.reason = Reason::failure_matched;
  r.exit_status = kExitFailureMatched;
  r.expectations[1].match.reset();
  r.failure = FailureResult{.pattern = "Oops", .pattern_index = 1,
                            .match = fixtures::line("Oops: 0002 [#1] <SMP> & \"PTI\"", 99, 20s)};
  const std::string xml = junit_xml(r);
  EXPECT_EQ(xml_problem(xml), "") << xml;
  EXPECT_NE(xml.find("failures=\"3\""), std::string::npos);
  EXPECT_NE(xml.find("<failure type=\"failure_matched\" message=\"&apos;Oops&apos; matched console line 99 at 20s\">"
                     "Oops: 0002 [#1] &lt;SMP&gt; &amp; &quot;PTI&quot;\n</failure>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("message=\"not met: --fail-on &apos;Oops&apos; matched console line 99 first\""),
            std::string::npos)
      << xml;
}

TEST(JUnit, VmErrorIsAnError) {
  HarnessResult r = fixtures::timed_out();
  r.reason = Reason::vm_error;
  r.exit_status = kExitVmError;
  r.vm_end = VmEnd{.kind = VmEndKind::vm_error, .exit_status = 1, .description = "KVM emulation failure"};
  const std::string xml = junit_xml(r);
  EXPECT_EQ(xml_problem(xml), "");
  EXPECT_NE(xml.find("failures=\"1\" errors=\"2\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error type=\"vm_error\" message=\"not met: VM error (KVM emulation failure) after 30s\">"),
            std::string::npos)
      << xml;
}

TEST(JUnit, NonZeroStatusWithoutExpectationsStillFails) {
  HarnessResult r;
  r.reason = Reason::guest_exited;
  r.exit_status = 5;
  r.duration = 1s;
  const std::string xml = junit_xml(r);
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\""), std::string::npos) << xml;
  r.exit_status = 0;
  EXPECT_NE(junit_xml(r).find("tests=\"2\" failures=\"0\""), std::string::npos);
}

TEST(JUnit, HostileConsoleTextStaysWellFormed) {
  HarnessResult r = fixtures::timed_out();
  static constexpr char kHostile[] = "\0\x01\x1b[31mred\x1b[0m\xff\xfe]]></system-out><x>&bogus;\xef\xbf\xbf\x7f";
  r.last_lines = {std::string(kHostile, sizeof(kHostile) - 1), "tab\there"};
  r.expectations[1].pattern = "a\"b'<c>&\n";
  const std::string xml = junit_xml(r, "suite <&> \"x\"");
  EXPECT_EQ(xml_problem(xml), "") << xml;
  EXPECT_NE(xml.find("\\x00\\x01\\x1b[31mred\\x1b[0m\\xff\\xfe]]&gt;&lt;/system-out&gt;&lt;x&gt;&amp;bogus;"
                     "\\xef\\xbf\\xbf\x7f"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"expect 2: a&quot;b&apos;&lt;c&gt;&amp;&#10;\""), std::string::npos) << xml;
}

TEST(WriteReportFile, WritesAndNamesThePathOnError) {
  const auto dir = std::filesystem::temp_directory_path() / ("keel-junit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_report_file("--junit", dir / "r.xml", "<x/>\n");
  std::ifstream in(dir / "r.xml");
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "<x/>\n");
  try {
    write_report_file("--junit", dir / "missing" / "r.xml", "x");
    FAIL();
  } catch (const std::runtime_error& error) {
    EXPECT_EQ(std::string(error.what()).rfind("cannot write --junit file '" + (dir / "missing" / "r.xml").string(), 0),
              0u)
        << error.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keel::harness
