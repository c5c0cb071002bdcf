// What the domain importer collects while it walks the XML; shared by the
// top-level elements (domain_importer.cc) and <devices> (device_importer.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libxml/tree.h>

#include "src/import_xml/domain_importer.h"

namespace keel::import_xml {

struct ImportState {
  ImportedDomain& out;
  std::vector<std::string> disks;       // --disk specs, in XML order
  std::vector<std::string> nets;        // --net specs
  std::optional<std::string> serial;    // --serial from <serial>
  std::optional<std::string> console;   // --serial from a <console> (used when there is no <serial>)

  void warn(const xmlNode* node, std::string_view why);
};

// The <devices> element.
void import_devices(const xmlNode* devices, ImportState& state);

// ConfigError "PATH: 'VALUE' is not supported (allowed: ALLOWED)".
[[noreturn]] void refuse_value(const std::string& path, std::string_view value, std::string_view allowed);

// ConfigError "PATH: <NAME> is not supported: WHY".
[[noreturn]] void refuse_element(const xmlNode* node, std::string_view why);

// A value keel's comma-separated specs (--disk, --net, --serial file:) cannot
// carry: ConfigError naming PATH when `value` holds a comma.
void check_no_comma(const std::string& path, std::string_view value, std::string_view what);

}  // namespace keel::import_xml
