#include "src/import_xml/xml_document.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <climits>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::import_xml {
namespace {

struct ParserCtxtFree {
  void operator()(xmlParserCtxt* ctxt) const noexcept { xmlFreeParserCtxt(ctxt); }
};

// What the parse saw that must fail it even if libxml2 would go on.
struct ParseGuard {
  bool doctype = false;
};

// Replaces libxml2's handler for "<!DOCTYPE name ...": stop right there,
// before an internal subset (where entities are declared) is read, and
// before an external one could be named for loading.
void on_doctype(void* user_data, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxt*>(user_data);
  static_cast<ParseGuard*>(ctxt->_private)->doctype = true;
  xmlStopParser(ctxt);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

XmlDocument parse_xml(std::string_view text) {
  if (text.size() > static_cast<size_t>(INT_MAX)) throw ConfigError("too large for the XML parser");
  xmlInitParser();
  std::unique_ptr<xmlParserCtxt, ParserCtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt || ctxt->sax == nullptr) throw ConfigError("cannot create an XML parser (out of memory)");
  ParseGuard guard;
  ctxt->_private = &guard;
  ctxt->sax->internalSubset = on_doctype;
  ctxt->sax->externalSubset = nullptr;  // only called for DTD loading, which is off anyway
  // No XML_PARSE_NOENT (entities stay references), DTDLOAD, DTDATTR,
  // DTDVALID, XINCLUDE or HUGE (libxml2's depth and size limits stay on);
  // errors are collected, not printed.
  constexpr int kOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  XmlDocument doc(xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), nullptr, nullptr,
                                    kOptions));
  if (guard.doctype || (doc && (doc->intSubset != nullptr || doc->extSubset != nullptr))) {
    throw ConfigError(
        "a <!DOCTYPE> is not allowed (a libvirt domain XML has none; entity declarations are refused so that "
        "nothing outside the file is read)");
  }
  if (!doc || ctxt->wellFormed == 0) {
    const xmlError* error = xmlCtxtGetLastError(ctxt.get());
    if (error == nullptr || error->message == nullptr) throw ConfigError("not well-formed XML");
    throw ConfigError(fmt::format("{}:{}: not well-formed XML: {}", error->line, error->int2, trimmed(error->message)));
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) throw ConfigError("no root element");
  return doc;
}

std::string node_path(const xmlNode* node) {
  xmlChar* path = xmlGetNodePath(node);
  if (path == nullptr) return "?";
  std::string text(reinterpret_cast<const char*>(path));
  xmlFree(path);
  return text;
}

std::string attribute_path(const xmlNode* node, std::string_view attribute) {
  return fmt::format("{}/@{}", node_path(node), attribute);
}

std::string_view name_of(const xmlNode* node) { return reinterpret_cast<const char*>(node->name); }

std::vector<const xmlNode*> element_children(const xmlNode* node) {
  std::vector<const xmlNode*> children;
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE) children.push_back(child);
  }
  return children;
}

const xmlNode* single_child(const xmlNode* node, std::string_view name) {
  const xmlNode* found = nullptr;
  for (const xmlNode* child : element_children(node)) {
    if (name_of(child) != name) continue;
    if (found != nullptr) {
      throw ConfigError(fmt::format("{}: given twice (at most one <{}> here)", node_path(child), name));
    }
    found = child;
  }
  return found;
}

std::optional<std::string> attribute(const xmlNode* node, std::string_view name) {
  const std::string key(name);
  xmlChar* value = xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(key.c_str()));
  if (value == nullptr) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return text;
}

std::string text_of(const xmlNode* node) {
  std::string text;
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) && child->content != nullptr) {
      text += reinterpret_cast<const char*>(child->content);
    } else if (child->type == XML_ENTITY_REF_NODE) {
      // Cannot happen without a DOCTYPE (refused above); never expand one.
      throw ConfigError(fmt::format("{}: entity references are not allowed", node_path(node)));
    }
  }
  return text;
}

void check_attributes(const xmlNode* node, std::initializer_list<std::string_view> allowed) {
  for (const xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next) {
    const std::string_view name = reinterpret_cast<const char*>(attr->name);
    bool known = false;
    for (std::string_view ok : allowed) known = known || ok == name;
    if (known) continue;
    if (allowed.size() == 0) {
      throw ConfigError(fmt::format("{}: unknown attribute (<{}> takes none here)", attribute_path(node, name),
                                    name_of(node)));
    }
    throw ConfigError(fmt::format("{}: unknown attribute (allowed: {})", attribute_path(node, name),
                                  fmt::join(allowed, ", ")));
  }
}

}  // namespace keel::import_xml
