// A libvirt domain XML file parsed safely with libxml2, and the small node
// helpers the importer uses (paths for error messages, attributes, text).
//
// Safety: the text is capped in size by the caller; the parser never goes to
// the network (XML_PARSE_NONET), never loads or validates a DTD, never
// substitutes entities (no XML_PARSE_NOENT), and stops at a <!DOCTYPE>: a
// domain XML has none, and without one no entity can be declared, so an
// external entity (XXE) or an entity bomb cannot be expanded.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libxml/tree.h>

namespace keel::import_xml {

struct XmlDocFree {
  void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
using XmlDocument = std::unique_ptr<xmlDoc, XmlDocFree>;

// Parses `text`. Throws ConfigError "LINE:COLUMN: <libxml2's reason>" for
// text that is not well-formed XML, and "a <!DOCTYPE> is not allowed ..."
// for any document type declaration.
XmlDocument parse_xml(std::string_view text);

// "/domain/devices/disk[2]/target": libxml2's path of the element (the index
// only where siblings share the name), for error messages.
std::string node_path(const xmlNode* node);
std::string attribute_path(const xmlNode* node, std::string_view attribute);

// The element's name ("disk").
std::string_view name_of(const xmlNode* node);

// The element children of `node` in document order (text, comments and
// processing instructions are skipped).
std::vector<const xmlNode*> element_children(const xmlNode* node);

// The first child element called `name`, or nullptr. Throws ConfigError
// naming the path if there are two (the importer reads each only once).
const xmlNode* single_child(const xmlNode* node, std::string_view name);

// The attribute's value, or nullopt when absent.
std::optional<std::string> attribute(const xmlNode* node, std::string_view name);

// The text inside the element, all text children joined.
std::string text_of(const xmlNode* node);

// Throws ConfigError "PATH/@NAME: unknown attribute (allowed: a, b)" for an
// attribute not in `allowed`, so nothing given is silently dropped.
void check_attributes(const xmlNode* node, std::initializer_list<std::string_view> allowed);

}  // namespace keel::import_xml
