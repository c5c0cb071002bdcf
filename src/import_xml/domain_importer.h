// `keel import-xml`'s translation: a libvirt domain XML (the subset keel can
// run) into a `keel run --config` document. See README.md for the elements
// taken, warned about and refused.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel::import_xml {

struct ImportedDomain {
  // Keys are `keel run`'s long option names, in the order keel's --help
  // lists them: name, kernel, initrd, cmdline, memory, memory-backing, cpus,
  // disk, net, serial. Only what the XML says is set.
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  // One line each, "PATH: ignored: why", for elements whose absence in keel
  // does not change what the guest runs (a <clock>, a <graphics>, ...).
  std::vector<std::string> warnings;
};

// Throws keel::ConfigError "PATH: what is wrong (allowed: ...)" for XML
// that is not well-formed, has a DOCTYPE, or asks for something keel lacks;
// PATH is the XPath of the element or attribute (/domain/devices/disk[2]/target/@bus).
ImportedDomain import_domain(std::string_view xml_text);

}  // namespace keel::import_xml
