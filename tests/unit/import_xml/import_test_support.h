// The import-xml tests' domain builder and error catcher.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "keel/config_error.h"
#include "src/import_xml/domain_importer.h"

namespace keel::import_xml::test_support {

// A minimal domain keel accepts, with `devices` inside <devices> and
// `extra` after <os>.
inline std::string domain_xml(const std::string& devices = "", const std::string& extra = "",
                              const std::string& os_extra = "") {
  return "<domain type='kvm'>\n"
         "  <name>vm1</name>\n"
         "  <memory unit='MiB'>256</memory>\n"
         "  <vcpu>1</vcpu>\n"
         "  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><kernel>/boot/vmlinuz</kernel>" +
         os_extra + "</os>\n" + extra + "  <devices>" + devices + "</devices>\n</domain>\n";
}

// The ConfigError's message (and a test failure when there is none).
inline std::string import_error(const std::string& xml) {
  try {
    import_domain(xml);
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << xml;
  return "";
}

}  // namespace keel::import_xml::test_support
