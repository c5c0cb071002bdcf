// <devices>: disks, NICs, the serial port; what keel lacks is refused or,
// when a guest runs the same without it, dropped with a warning.
#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/import_xml/import_state.h"
#include "src/import_xml/xml_document.h"

namespace keel::import_xml {
namespace {

constexpr size_t kMaxDiskSerial = 20;  // virtio-blk's ID string

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

std::string required_attribute(const xmlNode* node, std::string_view name, std::string_view allowed) {
  const auto value = attribute(node, name);
  if (!value || value->empty()) {
    throw ConfigError(fmt::format("{}: missing (allowed: {})", attribute_path(node, name), allowed));
  }
  return *value;
}

void import_disk(const xmlNode* disk, ImportState& state) {
  check_attributes(disk, {"type", "device", "snapshot"});
  if (const std::string type = attribute(disk, "type").value_or("file"); type != "file") {
    refuse_value(attribute_path(disk, "type"), type, "file");
  }
  if (const std::string device = attribute(disk, "device").value_or("disk"); device != "disk") {
    refuse_value(attribute_path(disk, "device"), device, "disk (keel's disks are virtio-blk)");
  }
  std::string path;
  bool readonly = false;
  bool direct = false;
  std::string serial;
  bool have_target = false;
  for (const xmlNode* child : element_children(disk)) {
    const std::string_view name = name_of(child);
    if (name == "source") {
      check_attributes(child, {"file", "index"});
      path = required_attribute(child, "file", "the image's path");
      check_no_comma(attribute_path(child, "file"), path, "--disk path=");
    } else if (name == "target") {
      check_attributes(child, {"dev", "bus"});
      const std::string dev = attribute(child, "dev").value_or("");
      // libvirt derives the bus from the name when bus= is absent: vdX is virtio.
      const std::string bus = attribute(child, "bus").value_or(dev.starts_with("vd") ? "virtio" : "");
      if (bus != "virtio") refuse_value(attribute_path(child, "bus"), bus, "virtio");
      have_target = true;
    } else if (name == "driver") {
      check_attributes(child, {"name", "type", "cache", "io", "discard", "detect_zeroes"});
      if (const std::string type = attribute(child, "type").value_or("raw"); type != "raw") {
        refuse_value(attribute_path(child, "type"), type, "raw (keel reads images as raw bytes)");
      }
      const std::string cache = attribute(child, "cache").value_or("default");
      if (!one_of(cache, {"default", "none", "directsync", "writeback", "writethrough", "unsafe"})) {
        refuse_value(attribute_path(child, "cache"), cache,
                     "default, none, directsync, writeback, writethrough, unsafe");
      }
      // none and directsync bypass the host page cache: keel's direct=on.
      direct = cache == "none" || cache == "directsync";
      if (attribute(child, "io") || attribute(child, "discard") || attribute(child, "detect_zeroes")) {
        state.warn(child, "io=, discard=, detect_zeroes= ignored (keel's virtio-blk uses io_uring; no discard)");
      }
    } else if (name == "readonly") {
      check_attributes(child, {});
      readonly = true;
    } else if (name == "serial") {
      check_attributes(child, {});
      serial = text_of(child);
      if (serial.size() > kMaxDiskSerial) {
        refuse_value(node_path(child), serial, fmt::format("at most {} bytes", kMaxDiskSerial));
      }
      check_no_comma(node_path(child), serial, "--disk serial=");
    } else if (one_of(name, {"address", "alias", "boot"})) {
      state.warn(child, "ignored (keel puts disks on bus 0 in order, then the NICs; it boots <kernel>)");
    } else {
      refuse_element(child, "allowed in <disk>: source, target, driver, readonly, serial (address, alias, boot "
                            "ignored)");
    }
  }
  if (path.empty()) throw ConfigError(fmt::format("{}: no <source file=.../>", node_path(disk)));
  if (!have_target) throw ConfigError(fmt::format("{}: no <target bus='virtio'/>", node_path(disk)));
  std::string spec = "path=" + path;
  if (readonly) spec += ",readonly=on";
  if (direct) spec += ",direct=on";
  if (!serial.empty()) spec += ",serial=" + serial;
  state.disks.push_back(spec);
}

void import_interface(const xmlNode* nic, ImportState& state) {
  check_attributes(nic, {"type"});
  const std::string type = attribute(nic, "type").value_or("");
  if (type != "ethernet" && type != "user") {
    refuse_value(attribute_path(nic, "type"), type, "ethernet (an existing tap: <target dev='tapN'/>), user");
  }
  std::string tap;
  std::string mac;
  // No <model>: QEMU's pc gives an e1000, which is what the guest expects.
  std::string model = "e1000";
  for (const xmlNode* child : element_children(nic)) {
    const std::string_view name = name_of(child);
    if (name == "target") {
      check_attributes(child, {"dev", "managed"});
      tap = required_attribute(child, "dev", "the tap's name");
      check_no_comma(attribute_path(child, "dev"), tap, "--net tap=");
    } else if (name == "mac") {
      check_attributes(child, {"address"});
      mac = required_attribute(child, "address", "a MAC address like 52:54:00:12:34:56");
      check_no_comma(attribute_path(child, "address"), mac, "--net mac=");
    } else if (name == "model") {
      check_attributes(child, {"type"});
      model = required_attribute(child, "type", "virtio, e1000");
      if (model != "virtio" && model != "e1000") refuse_value(attribute_path(child, "type"), model, "virtio, e1000");
    } else if (one_of(name, {"address", "alias", "boot", "driver", "link", "mtu", "rom"})) {
      state.warn(child, "ignored (keel has no such NIC setting)");
    } else {
      refuse_element(child, "allowed in <interface>: target, mac, model (address, alias, boot, driver, link, mtu, "
                            "rom ignored)");
    }
  }
  std::string spec;
  if (type == "user") {
    if (!tap.empty()) refuse_value(node_path(nic) + "/target/@dev", tap, "no <target> with type='user'");
    spec = "user";
  } else {
    if (tap.empty()) {
      throw ConfigError(fmt::format("{}: no <target dev='tapN'/>: keel opens an existing tap, it does not make one",
                                    node_path(nic)));
    }
    spec = "tap=" + tap;
  }
  spec += ",model=" + model;
  if (!mac.empty()) spec += ",mac=" + mac;
  state.nets.push_back(spec);
}

// <serial>/<console> type= and <source> into a --serial backend.
std::string char_device_backend(const xmlNode* node) {
  const std::string type = attribute(node, "type").value_or("");
  const xmlNode* source = single_child(node, "source");
  const auto source_path = [&] {
    if (source == nullptr) throw ConfigError(fmt::format("{}: no <source path=.../>", node_path(node)));
    return required_attribute(source, "path", "a path");
  };
  if (type == "pty") return "pty";
  if (type == "stdio") return "stdio";
  if (type == "null") return "none";
  if (type == "file") {
    const std::string path = source_path();
    check_attributes(source, {"path", "append"});
    check_no_comma(attribute_path(source, "path"), path, "--serial file:");
    return "file:" + path;
  }
  if (type == "unix") {
    const std::string path = source_path();
    check_attributes(source, {"mode", "path"});
    // keel's unix: listens, as libvirt's mode='bind'.
    if (const std::string mode = attribute(source, "mode").value_or("connect"); mode != "bind") {
      refuse_value(attribute_path(source, "mode"), mode, "bind (keel listens on the socket)");
    }
    return "unix:" + path;
  }
  refuse_value(attribute_path(node, "type"), type, "pty, file, unix (mode='bind'), stdio, null");
}

void check_char_device_children(const xmlNode* node, ImportState& state, std::string_view target_type) {
  for (const xmlNode* child : element_children(node)) {
    const std::string_view name = name_of(child);
    if (name == "source") continue;  // read by char_device_backend
    if (name == "target") {
      check_attributes(child, {"type", "port"});
      if (const std::string port = attribute(child, "port").value_or("0"); port != "0") {
        refuse_value(attribute_path(child, "port"), port, "0 (keel has one serial port, COM1)");
      }
      if (const std::string type = attribute(child, "type").value_or(std::string(target_type));
          type != target_type) {
        refuse_value(attribute_path(child, "type"), type, target_type);
      }
      for (const xmlNode* model : element_children(child)) {
        if (name_of(model) != "model") refuse_element(model, "allowed in <target>: model");
        if (const auto kind = attribute(model, "name"); kind && *kind != "isa-serial") {
          refuse_value(attribute_path(model, "name"), *kind, "isa-serial");
        }
      }
    } else if (one_of(name, {"alias", "log", "address"})) {
      state.warn(child, "ignored (keel has no such serial setting; --console-log is keel's log)");
    } else {
      refuse_element(child, "allowed here: source, target (alias, log, address ignored)");
    }
  }
}

void import_serial(const xmlNode* serial, ImportState& state) {
  check_attributes(serial, {"type"});
  check_char_device_children(serial, state, "isa-serial");
  if (state.serial) refuse_element(serial, "keel has one serial port (COM1); this is a second <serial>");
  state.serial = char_device_backend(serial);
}

// libvirt's x86 <console type='pty'><target type='serial'/> is the first
// <serial> seen from the console's side: the same port, not another one.
void import_console(const xmlNode* console, ImportState& state) {
  check_attributes(console, {"type", "tty"});
  check_char_device_children(console, state, "serial");
  const std::string backend = char_device_backend(console);
  if (state.console) refuse_element(console, "keel has one console, the serial port COM1; this is a second");
  state.console = backend;
}

void import_hostdev(const xmlNode* hostdev) {
  std::string where;
  if (const xmlNode* source = single_child(hostdev, "source")) {
    if (const xmlNode* address = single_child(source, "address")) {
      where = fmt::format(" {}:{}:{}.{}", attribute(address, "domain").value_or("0x0000"),
                          attribute(address, "bus").value_or("?"), attribute(address, "slot").value_or("?"),
                          attribute(address, "function").value_or("?"));
    }
  }
  // Not mapped to a flag: keel has none yet (vfio/README.md); the VFIO issue
  // will add one, and this importer with it.
  refuse_element(hostdev, fmt::format("keel has no PCI passthrough (VFIO) yet, so the host device{} cannot be "
                                      "given to the guest; remove the <hostdev>",
                                      where));
}

}  // namespace

void import_devices(const xmlNode* devices, ImportState& state) {
  check_attributes(devices, {});
  for (const xmlNode* child : element_children(devices)) {
    const std::string_view name = name_of(child);
    if (name == "disk") {
      import_disk(child, state);
    } else if (name == "interface") {
      import_interface(child, state);
    } else if (name == "serial") {
      import_serial(child, state);
    } else if (name == "console") {
      import_console(child, state);
    } else if (name == "hostdev") {
      import_hostdev(child);
    } else if (name == "input" && attribute(child, "bus").value_or("ps2") == "ps2") {
      // keel's pc has the PS/2 keyboard and mouse: nothing to add.
    } else if (name == "memballoon" && attribute(child, "model") == "none") {
      // "no balloon", which is what keel has.
    } else if (name == "emulator") {
      state.warn(child, "ignored (this is keel)");
    } else if (one_of(name, {"controller", "input", "graphics", "video", "sound", "audio", "memballoon", "rng",
                             "channel", "redirdev", "hub", "panic"})) {
      // A guest boots and runs without these; keel has none of them.
      state.warn(child, "dropped (keel has no such device; the guest runs without it)");
    } else {
      refuse_element(child, "keel's devices: disk, interface, serial, console (controller, input, graphics, video, "
                            "sound, audio, memballoon, rng, channel, redirdev, hub, panic dropped with a warning)");
    }
  }
}

}  // namespace keel::import_xml
