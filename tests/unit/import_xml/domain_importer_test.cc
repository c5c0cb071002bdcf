// Each element of the subset, what is warned about and what is refused,
// with the XPath and value in the one-line error.
#include "src/import_xml/domain_importer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/import_xml/import_test_support.h"

namespace keel::import_xml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using test_support::domain_xml;
using test_support::import_error;
using Json = nlohmann::ordered_json;

TEST(ImportDomain, MinimalDomain) {
  const ImportedDomain domain = import_domain(domain_xml());
  EXPECT_EQ(domain.config, Json::parse(R"({"name": "vm1", "kernel": "/boot/vmlinuz", "memory": "256M",
                                           "cpus": 1, "serial": "none"})"));
  EXPECT_TRUE(domain.warnings.empty());
}

TEST(ImportDomain, KeysComeInKeelsOrder) {
  const std::string xml =
      "<domain type='kvm'><devices><disk type='file' device='disk'><source file='/a.img'/><target dev='vda' "
      "bus='virtio'/></disk></devices><vcpu>2</vcpu><os><cmdline>console=ttyS0</cmdline><initrd>/i</initrd>"
      "<kernel>/k</kernel><type>hvm</type></os><memory>1048576</memory><name>n</name></domain>";
  const ImportedDomain domain = import_domain(xml);
  std::vector<std::string> keys;
  for (const auto& [key, value] : domain.config.items()) keys.push_back(key);
  EXPECT_THAT(keys, ElementsAre("name", "kernel", "initrd", "cmdline", "memory", "cpus", "disk", "serial"));
  EXPECT_EQ(domain.config["memory"], "1G");  // no unit: KiB
  EXPECT_EQ(domain.config["cmdline"], "console=ttyS0");
}

TEST(ImportDomain, MemoryUnitsAndErrors) {
  const auto memory_of = [](const std::string& element) {
    std::string xml = domain_xml();
    xml.replace(xml.find("<memory unit='MiB'>256</memory>"), 31, element);
    return import_domain(xml).config["memory"].get<std::string>();
  };
  EXPECT_EQ(memory_of("<memory unit='GiB'>2</memory>"), "2G");
  EXPECT_EQ(memory_of("<memory unit='KiB'>262144</memory>"), "256M");
  EXPECT_EQ(memory_of("<memory unit='bytes'>8192</memory>"), "8K");
  EXPECT_EQ(memory_of("<memory unit='MB'>2048</memory>"), "2000000K");
  EXPECT_EQ(memory_of("<memory>524288</memory>"), "512M");
  std::string xml = domain_xml();
  xml.replace(xml.find("unit='MiB'"), 10, "unit='XiB'");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/memory: unit 'XiB' is not known (allowed: b, bytes"));
  xml = domain_xml();
  xml.replace(xml.find("unit='MiB'"), 10, "unit='b'");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/memory: 256 bytes is not a whole number of 4 KiB pages"));
  xml = domain_xml();
  xml.replace(xml.find("unit='MiB'"), 10, "unit='MiB' slot='2'");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/memory/@slot: unknown attribute (allowed: unit, dumpCore)"));
}

TEST(ImportDomain, CurrentMemoryIsIgnoredWithANote) {
  const ImportedDomain domain = import_domain(domain_xml("", "<currentMemory unit='MiB'>128</currentMemory>"));
  EXPECT_EQ(domain.config["memory"], "256M");
  EXPECT_THAT(domain.warnings, ElementsAre(HasSubstr("/domain/currentMemory: ignored (keel has no balloon")));
}

TEST(ImportDomain, MissingMemoryOrKernelIsAnError) {
  std::string xml = domain_xml();
  xml.erase(xml.find("<memory unit='MiB'>256</memory>"), 31);
  EXPECT_THAT(import_error(xml), HasSubstr("/domain: no <memory>"));
  xml = domain_xml();
  xml.erase(xml.find("<kernel>/boot/vmlinuz</kernel>"), 30);
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/os: no <kernel>"));
}

TEST(ImportDomain, Vcpu) {
  std::string xml = domain_xml();
  xml.replace(xml.find("<vcpu>1</vcpu>"), 14, "<vcpu placement='static' current='4'>4</vcpu>");
  EXPECT_EQ(import_domain(xml).config["cpus"], 4);
  for (const char* bad : {"0", "65", "two", "-1"}) {
    xml = domain_xml();
    xml.replace(xml.find("<vcpu>1</vcpu>"), 14, std::string("<vcpu>") + bad + "</vcpu>");
    EXPECT_THAT(import_error(xml), HasSubstr(std::string("/domain/vcpu: '") + bad +
                                             "' is not supported (allowed: 1 to 64 vCPUs)"));
  }
  xml = domain_xml();
  xml.replace(xml.find("<vcpu>1</vcpu>"), 14, "<vcpu current='1'>2</vcpu>");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/vcpu/@current: '1' differs from the vCPU count 2"));
}

TEST(ImportDomain, OsTypeArchAndMachine) {
  std::string xml = domain_xml();
  xml.replace(xml.find("arch='x86_64'"), 13, "arch='aarch64'");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/os/type/@arch: 'aarch64' is not supported (allowed: x86_64)"));
  xml = domain_xml();
  xml.replace(xml.find("pc-i440fx-7.2"), 13, "pc-q35-7.2");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/os/type/@machine: 'pc-q35-7.2' is not supported (allowed: pc, "));
  xml = domain_xml();
  xml.replace(xml.find(">hvm<"), 5, ">xen<");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/os/type: 'xen' is not supported (allowed: hvm)"));
}

TEST(ImportDomain, FirmwareIsRefused) {
  EXPECT_THAT(import_error(domain_xml("", "", "<loader readonly='yes' type='pflash'>/OVMF.fd</loader>")),
              HasSubstr("/domain/os/loader: <loader> is not supported: keel has no BIOS or UEFI firmware"));
  std::string xml = domain_xml();
  xml.replace(xml.find("<os>"), 4, "<os firmware='efi'>");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/os/@firmware: 'efi' is not supported"));
}

TEST(ImportDomain, BootOrderIsAWarning) {
  const ImportedDomain domain = import_domain(domain_xml("", "", "<boot dev='hd'/><initrd>/boot/initrd</initrd>"));
  EXPECT_EQ(domain.config["initrd"], "/boot/initrd");
  EXPECT_THAT(domain.warnings, ElementsAre(HasSubstr("/domain/os/boot: ignored (keel has no firmware")));
}

TEST(ImportDomain, HarmlessTopLevelElementsWarn) {
  const ImportedDomain domain = import_domain(domain_xml(
      "", "<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><clock offset='utc'/><on_poweroff>destroy</on_poweroff>"
          "<features><acpi/><apic/><vmport state='off'/></features><description>x</description>"));
  EXPECT_THAT(domain.warnings, ElementsAre(HasSubstr("/domain/uuid: ignored"), HasSubstr("/domain/clock: ignored"),
                                           HasSubstr("/domain/on_poweroff: ignored"),
                                           HasSubstr("/domain/features/vmport: ignored")));
}

TEST(ImportDomain, UnknownTopLevelElementIsAnError) {
  EXPECT_THAT(import_error(domain_xml("", "<maxMemory slots='16' unit='KiB'>1524288</maxMemory>")),
              HasSubstr("/domain/maxMemory: <maxMemory> is not supported: keel has no memory or vCPU hotplug"));
  EXPECT_THAT(import_error(domain_xml("", "<frobnicate/>")),
              HasSubstr("/domain/frobnicate: <frobnicate> is not supported: keel's subset: name, memory"));
}

TEST(ImportDomain, SingletonsGivenTwiceAreAnError) {
  EXPECT_THAT(import_error(domain_xml("", "<name>other</name>")),
              HasSubstr("/domain/name[2]: given twice (at most one <name>)"));
  EXPECT_THAT(import_error(domain_xml("", "<memory>1024</memory>")), HasSubstr("/domain/memory[2]: given twice"));
}

TEST(ImportDomain, MemoryBacking) {
  EXPECT_EQ(import_domain(domain_xml("", "<memoryBacking><source type='memfd'/></memoryBacking>"))
                .config["memory-backing"],
            "memfd");
  EXPECT_THAT(import_error(domain_xml("", "<memoryBacking><hugepages/></memoryBacking>")),
              HasSubstr("/domain/memoryBacking/hugepages: <hugepages> is not supported: libvirt names no hugetlbfs"));
}

TEST(ImportDomain, DomainTypeAndRoot) {
  std::string xml = domain_xml();
  xml.replace(xml.find("type='kvm'"), 10, "type='xen'");
  EXPECT_THAT(import_error(xml), HasSubstr("/domain/@type: 'xen' is not supported (allowed: kvm, qemu)"));
  EXPECT_THAT(import_error("<network><name>x</name></network>"),
              HasSubstr("/network: 'network' is not supported (allowed: a <domain> root element)"));
}

TEST(ImportDisk, FileDiskWithOptions) {
  const ImportedDomain domain = import_domain(domain_xml(
      "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='/var/a.img'/>"
      "<target dev='vda' bus='virtio'/><readonly/><serial>SN1</serial></disk>"
      "<disk type='file' device='disk'><source file='/var/b.img'/><target dev='vdb'/></disk>"));
  EXPECT_EQ(domain.config["disk"],
            Json::parse(R"(["path=/var/a.img,readonly=on,direct=on,serial=SN1", "path=/var/b.img"])"));
}

TEST(ImportDisk, RefusedDisks) {
  EXPECT_THAT(import_error(domain_xml("<disk type='file' device='disk'><source file='/a'/><target dev='hda' "
                                      "bus='ide'/></disk>")),
              HasSubstr("/domain/devices/disk/target/@bus: 'ide' is not supported (allowed: virtio)"));
  EXPECT_THAT(import_error(domain_xml("<disk type='file' device='disk'><source file='/a'/><target dev='vda'/></disk>"
                                      "<disk type='file' device='cdrom'><source file='/b'/></disk>")),
              HasSubstr("/domain/devices/disk[2]/@device: 'cdrom' is not supported (allowed: disk"));
  EXPECT_THAT(import_error(domain_xml("<disk type='block' device='disk'><source dev='/dev/sdb'/></disk>")),
              HasSubstr("/domain/devices/disk/@type: 'block' is not supported (allowed: file)"));
  EXPECT_THAT(import_error(domain_xml("<disk type='file'><driver name='qemu' type='qcow2'/><source file='/a'/>"
                                      "<target dev='vda'/></disk>")),
              HasSubstr("/domain/devices/disk/driver/@type: 'qcow2' is not supported (allowed: raw"));
  EXPECT_THAT(import_error(domain_xml("<disk type='file'><source file='/a,b'/><target dev='vda'/></disk>")),
              HasSubstr("/domain/devices/disk/source/@file: '/a,b' contains a comma"));
  EXPECT_THAT(import_error(domain_xml("<disk type='file'><target dev='vda'/></disk>")),
              HasSubstr("/domain/devices/disk: no <source file=.../>"));
  EXPECT_THAT(import_error(domain_xml("<disk type='file'><source file='/a'/><target dev='vda'/><iotune/></disk>")),
              HasSubstr("/domain/devices/disk/iotune: <iotune> is not supported"));
}

TEST(ImportInterface, EthernetAndUser) {
  const ImportedDomain domain = import_domain(domain_xml(
      "<interface type='ethernet'><target dev='tap3' managed='no'/><mac address='52:54:00:12:34:56'/>"
      "<model type='virtio'/></interface><interface type='user'><model type='e1000'/></interface>"
      "<interface type='ethernet'><target dev='tap4'/></interface>"));
  EXPECT_EQ(domain.config["net"], Json::parse(R"(["tap=tap3,model=virtio,mac=52:54:00:12:34:56",
                                                  "user,model=e1000", "tap=tap4,model=e1000"])"));
}

TEST(ImportInterface, RefusedInterfaces) {
  EXPECT_THAT(import_error(domain_xml("<interface type='bridge'><source bridge='br0'/></interface>")),
              HasSubstr("/domain/devices/interface/@type: 'bridge' is not supported (allowed: ethernet"));
  EXPECT_THAT(import_error(domain_xml("<interface type='ethernet'><target dev='t0'/><model type='rtl8139'/>"
                                      "</interface>")),
              HasSubstr("/domain/devices/interface/model/@type: 'rtl8139' is not supported (allowed: virtio, e1000)"));
  EXPECT_THAT(import_error(domain_xml("<interface type='ethernet'><model type='virtio'/></interface>")),
              HasSubstr("/domain/devices/interface: no <target dev='tapN'/>"));
  EXPECT_THAT(import_error(domain_xml("<interface type='ethernet'><target dev='t0'/><script path='/x'/>"
                                      "</interface>")),
              HasSubstr("/domain/devices/interface/script: <script> is not supported"));
}

TEST(ImportSerial, Backends) {
  const auto serial_of = [](const std::string& device) {
    return import_domain(domain_xml(device)).config["serial"].get<std::string>();
  };
  EXPECT_EQ(serial_of("<serial type='pty'><target port='0'/></serial>"), "pty");
  EXPECT_EQ(serial_of("<serial type='file'><source path='/var/log/c.log'/></serial>"), "file:/var/log/c.log");
  EXPECT_EQ(serial_of("<serial type='unix'><source mode='bind' path='/run/c.sock'/></serial>"), "unix:/run/c.sock");
  EXPECT_EQ(serial_of("<serial type='null'/>"), "none");
  // A <console> alone is the serial port; next to a <serial>, the same port.
  EXPECT_EQ(serial_of("<console type='pty'><target type='serial' port='0'/></console>"), "pty");
  EXPECT_EQ(serial_of("<serial type='file'><source path='/c'/></serial><console type='pty'><target type='serial'/>"
                      "</console>"),
            "file:/c");
}

TEST(ImportSerial, RefusedSerials) {
  EXPECT_THAT(import_error(domain_xml("<serial type='tcp'><source mode='bind' host='::' service='4555'/></serial>")),
              HasSubstr("/domain/devices/serial/@type: 'tcp' is not supported (allowed: pty, file, unix"));
  EXPECT_THAT(import_error(domain_xml("<serial type='unix'><source mode='connect' path='/s'/></serial>")),
              HasSubstr("/domain/devices/serial/source/@mode: 'connect' is not supported (allowed: bind"));
  EXPECT_THAT(import_error(domain_xml("<serial type='pty'/><serial type='pty'><target port='1'/></serial>")),
              HasSubstr("/domain/devices/serial[2]/target/@port: '1' is not supported (allowed: 0"));
  EXPECT_THAT(import_error(domain_xml("<serial type='pty'/><serial type='pty'/>")),
              HasSubstr("/domain/devices/serial[2]: <serial> is not supported: keel has one serial port"));
  EXPECT_THAT(import_error(domain_xml("<serial type='file'/>")),
              HasSubstr("/domain/devices/serial: no <source path=.../>"));
  EXPECT_THAT(import_error(domain_xml("<serial type='unix'><target port='0'/></serial>")),
              HasSubstr("/domain/devices/serial: no <source path=.../>"));
  EXPECT_THAT(import_error(domain_xml("<serial type='file'><source path='/a,b'/></serial>")),
              HasSubstr("/domain/devices/serial/source/@path: '/a,b' contains a comma"));
  EXPECT_THAT(import_error(domain_xml("<console type='pty'><target type='virtio'/></console>")),
              HasSubstr("/domain/devices/console/target/@type: 'virtio' is not supported (allowed: serial)"));
}

TEST(ImportHostdev, PciPassthroughIsRefusedNamingTheDevice) {
  EXPECT_THAT(import_error(domain_xml("<hostdev mode='subsystem' type='pci' managed='yes'><source><address "
                                      "domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>")),
              HasSubstr("/domain/devices/hostdev: <hostdev> is not supported: keel has no PCI passthrough (VFIO) yet, "
                        "so the host device 0x0000:0x03:0x00.0x1 cannot be given to the guest"));
}

TEST(ImportDevices, DroppedAndRefusedDevices) {
  const ImportedDomain domain = import_domain(domain_xml(
      "<emulator>/usr/bin/qemu-system-x86_64</emulator><controller type='usb' model='piix3-uhci'/>"
      "<input type='mouse' bus='ps2'/><input type='tablet' bus='usb'/><graphics type='vnc'/>"
      "<memballoon model='none'/>"));
  EXPECT_THAT(domain.warnings,
              ElementsAre(HasSubstr("/domain/devices/emulator: ignored"), HasSubstr("/domain/devices/controller: dropped"),
                          HasSubstr("/domain/devices/input[2]: dropped"), HasSubstr("/domain/devices/graphics: dropped")));
  EXPECT_THAT(import_error(domain_xml("<filesystem type='mount'><source dir='/x'/><target dir='t'/></filesystem>")),
              HasSubstr("/domain/devices/filesystem: <filesystem> is not supported: keel's devices: disk, interface"));
  EXPECT_THAT(import_error(domain_xml("<tpm model='tpm-crb'/>")), HasSubstr("/domain/devices/tpm: <tpm> is not"));
}

}  // namespace
}  // namespace keel::import_xml
