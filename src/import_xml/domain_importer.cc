#include "src/import_xml/domain_importer.h"

#include <charconv>
#include <set>

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/import_xml/import_state.h"
#include "src/import_xml/memory_units.h"
#include "src/import_xml/xml_document.h"

namespace keel::import_xml {
namespace {

constexpr uint32_t kMaxCpus = 64;  // keel run --cpus

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

// Runs `check`, prefixing a ConfigError's message with `path` (the helpers
// in memory_units.h do not know where their value came from).
template <class Check>
auto at(const std::string& path, Check&& check) {
  try {
    return check();
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", path, e.what()));
  }
}

void import_memory(const xmlNode* node, ImportState& state) {
  check_attributes(node, {"unit", "dumpCore"});
  const std::string unit = attribute(node, "unit").value_or("");
  const uint64_t bytes = at(node_path(node), [&] { return parse_libvirt_size(text_of(node), unit); });
  state.out.config["memory"] = at(node_path(node), [&] { return keel_memory_text(bytes); });
  if (attribute(node, "dumpCore")) state.warn(node, "dumpCore= ignored (keel has no guest core dumps)");
}

void import_vcpu(const xmlNode* node, ImportState& state) {
  check_attributes(node, {"placement", "cpuset", "current"});
  const auto count = [&](const std::string& text, const std::string& path) {
    uint32_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxCpus) {
      refuse_value(path, text, fmt::format("1 to {} vCPUs", kMaxCpus));
    }
    return value;
  };
  std::string text = text_of(node);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.pop_back();
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.erase(0, 1);
  const uint32_t cpus = count(text, node_path(node));
  if (const auto current = attribute(node, "current")) {
    if (count(*current, attribute_path(node, "current")) != cpus) {
      throw ConfigError(fmt::format("{}: '{}' differs from the vCPU count {}: keel has no vCPU hotplug (allowed: "
                                    "current= equal to the count, or none)",
                                    attribute_path(node, "current"), *current, cpus));
    }
  }
  if (attribute(node, "cpuset")) state.warn(node, "cpuset= ignored (keel does not pin vCPU threads)");
  state.out.config["cpus"] = cpus;
}

void import_os_type(const xmlNode* node) {
  check_attributes(node, {"arch", "machine"});
  if (const auto arch = attribute(node, "arch"); arch && *arch != "x86_64") {
    refuse_value(attribute_path(node, "arch"), *arch, "x86_64");
  }
  if (const auto machine = attribute(node, "machine");
      machine && *machine != "pc" && !machine->starts_with("pc-i440fx-")) {
    refuse_value(attribute_path(node, "machine"), *machine, "pc, pc-i440fx-* (keel's machine is QEMU's i440FX pc)");
  }
  if (const std::string type = text_of(node); type != "hvm") refuse_value(node_path(node), type, "hvm");
}

void import_os(const xmlNode* os, ImportState& state) {
  check_attributes(os, {"firmware"});
  if (const auto firmware = attribute(os, "firmware")) {
    refuse_value(attribute_path(os, "firmware"), *firmware,
                 "none: keel has no BIOS or UEFI and boots <kernel> directly");
  }
  bool have_kernel = false;
  for (const xmlNode* child : element_children(os)) {
    const std::string_view name = name_of(child);
    const std::string path = node_path(child);
    if (name == "type") {
      import_os_type(child);
    } else if (name == "kernel" || name == "initrd") {
      check_attributes(child, {});
      const std::string file = text_of(child);
      if (file.empty()) refuse_value(path, file, "a file's path");
      if (!state.out.config[std::string(name)].is_null()) throw ConfigError(fmt::format("{}: given twice", path));
      state.out.config[std::string(name)] = file;
      have_kernel = have_kernel || name == "kernel";
    } else if (name == "cmdline") {
      check_attributes(child, {});
      state.out.config["cmdline"] = text_of(child);
    } else if (one_of(name, {"boot", "bootmenu", "smbios", "bios"})) {
      state.warn(child, "ignored (keel has no firmware: it boots <kernel> directly)");
    } else if (one_of(name, {"loader", "nvram"})) {
      refuse_element(child, "keel has no BIOS or UEFI firmware; it boots <kernel> (bzImage, PVH ELF or Multiboot) "
                            "directly");
    } else {
      refuse_element(child, "allowed in <os>: type, kernel, initrd, cmdline (boot, bootmenu, smbios, bios ignored)");
    }
  }
  if (!have_kernel) {
    throw ConfigError(fmt::format("{}: no <kernel>: keel boots a kernel directly, without firmware or "
                                  "<boot dev=...>; add <kernel>PATH</kernel>",
                                  node_path(os)));
  }
}

void import_memory_backing(const xmlNode* node, ImportState& state) {
  check_attributes(node, {});
  for (const xmlNode* child : element_children(node)) {
    const std::string_view name = name_of(child);
    if (name == "source") {
      check_attributes(child, {"type"});
      const std::string type = attribute(child, "type").value_or("anonymous");
      if (type == "memfd") {
        state.out.config["memory-backing"] = "memfd";
      } else if (type != "anonymous") {
        refuse_value(attribute_path(child, "type"), type, "anonymous, memfd");
      }
    } else if (name == "hugepages") {
      refuse_element(child, "libvirt names no hugetlbfs mount; use keel run --memory-backing hugetlbfs:DIR");
    } else {
      refuse_element(child, "allowed in <memoryBacking>: <source type='anonymous'|'memfd'/>");
    }
  }
}

void import_features(const xmlNode* node, ImportState& state) {
  for (const xmlNode* child : element_children(node)) {
    // keel's pc always has ACPI, an APIC and PAE: these ask for nothing more.
    if (one_of(name_of(child), {"acpi", "apic", "pae"})) continue;
    state.warn(child, "ignored (keel offers no such feature switch)");
  }
}

void import_top_level(const xmlNode* child, ImportState& state) {
  const std::string_view name = name_of(child);
  if (name == "name") {
    check_attributes(child, {});
    const std::string value = text_of(child);
    if (value.empty()) refuse_value(node_path(child), value, "a non-empty name");
    state.out.config["name"] = value;
  } else if (name == "memory") {
    import_memory(child, state);
  } else if (name == "currentMemory") {
    state.warn(child, "ignored (keel has no balloon: the guest gets all of <memory>)");
  } else if (name == "vcpu") {
    import_vcpu(child, state);
  } else if (name == "os") {
    import_os(child, state);
  } else if (name == "memoryBacking") {
    import_memory_backing(child, state);
  } else if (name == "features") {
    import_features(child, state);
  } else if (name == "devices") {
    import_devices(child, state);
  } else if (one_of(name, {"title", "description", "metadata"})) {
    // Descriptive only: nothing for keel to do, nothing to warn about.
  } else if (one_of(name, {"uuid", "genid", "cpu", "clock", "on_poweroff", "on_reboot", "on_crash",
                           "on_lockfailure", "pm", "resource", "sysinfo", "seclabel", "keywrap", "perf",
                           "cputune", "numatune", "blkiotune", "memtune", "iothreads"})) {
    // Host-side policy or identity: the guest runs the same without it.
    // (keel itself exits on a guest reset and on power-off, like QEMU
    // -no-reboot; the host CPUID minus --cpu-features is the guest's CPU.)
    state.warn(child, "ignored (no keel equivalent; the guest runs the same without it)");
  } else if (name == "maxMemory" || name == "vcpus") {
    refuse_element(child, "keel has no memory or vCPU hotplug");
  } else {
    refuse_element(child, "keel's subset: name, memory, currentMemory, vcpu, os, memoryBacking, features, devices "
                          "(and descriptive or host-policy elements, ignored with a warning)");
  }
}

}  // namespace

void ImportState::warn(const xmlNode* node, std::string_view why) {
  out.warnings.push_back(fmt::format("{}: {}", node_path(node), why));
}

[[noreturn]] void refuse_value(const std::string& path, std::string_view value, std::string_view allowed) {
  throw ConfigError(fmt::format("{}: '{}' is not supported (allowed: {})", path, value, allowed));
}

[[noreturn]] void refuse_element(const xmlNode* node, std::string_view why) {
  throw ConfigError(fmt::format("{}: <{}> is not supported: {}", node_path(node), name_of(node), why));
}

void check_no_comma(const std::string& path, std::string_view value, std::string_view what) {
  if (value.find(',') != std::string_view::npos) {
    throw ConfigError(fmt::format("{}: '{}' contains a comma, which keel's {} cannot carry (allowed: a value "
                                  "without commas)",
                                  path, value, what));
  }
}

ImportedDomain import_domain(std::string_view xml_text) {
  const XmlDocument doc = parse_xml(xml_text);
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (name_of(root) != "domain") refuse_value(node_path(root), name_of(root), "a <domain> root element");
  check_attributes(root, {"type", "id"});
  ImportedDomain domain;
  ImportState state{.out = domain, .disks = {}, .nets = {}, .serial = {}, .console = {}};
  const std::string type = attribute(root, "type").value_or("kvm");
  if (type == "qemu") {
    state.warn(root, "type='qemu' (TCG) ignored: keel always runs the guest with KVM");
  } else if (type != "kvm") {
    refuse_value(attribute_path(root, "type"), type, "kvm, qemu");
  }
  if (attribute(root, "id")) state.warn(root, "id= ignored (a running domain's number)");

  // Fixed order for the keys that need one; the others are filled in as met.
  for (const char* key : {"name", "kernel", "initrd", "cmdline", "memory", "memory-backing", "cpus"}) {
    domain.config[key] = nullptr;
  }
  std::set<std::string_view> seen;
  for (const xmlNode* child : element_children(root)) {
    // libvirt allows each of these once; a second would silently win here.
    if (one_of(name_of(child), {"name", "memory", "vcpu", "os", "memoryBacking", "devices"}) &&
        !seen.insert(name_of(child)).second) {
      throw ConfigError(fmt::format("{}: given twice (at most one <{}>)", node_path(child), name_of(child)));
    }
    import_top_level(child, state);
  }
  for (auto it = domain.config.begin(); it != domain.config.end();) {
    it = it->is_null() ? domain.config.erase(it) : std::next(it);
  }
  if (!domain.config.contains("memory")) {
    throw ConfigError("/domain: no <memory>: libvirt requires one (keel's default, 512M, would differ silently)");
  }
  if (!domain.config.contains("kernel")) {
    throw ConfigError("/domain: no <os><kernel>: keel boots a kernel directly; add <os><kernel>PATH</kernel></os>");
  }
  if (!state.disks.empty()) domain.config["disk"] = state.disks;
  if (!state.nets.empty()) domain.config["net"] = state.nets;
  // libvirt's domain without <serial> or <console> has no serial port wired
  // anywhere; keel's COM1 then goes nowhere too.
  domain.config["serial"] = state.serial.value_or(state.console.value_or("none"));
  return domain;
}

}  // namespace keel::import_xml
