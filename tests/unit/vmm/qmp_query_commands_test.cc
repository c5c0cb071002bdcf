// query-block and query-pci (src/vmm/qmp_query_commands.h): QEMU 7.2's
// shapes over keel's disks and a PCI host bridge with test functions.
#include "src/vmm/qmp_query_commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "devices/pci/pci_host_bridge.h"
#include "keel/bus.h"
#include "tests/unit/devices/pci/test_pci_device.h"

namespace keel::vmm {
namespace {

using qmp::Json;

TEST(QmpQueryBlock, OneEntryPerDiskAsQemuShowsIfVirtio) {
  const Json list = query_block_json({BlockDeviceSummary{.path = "/a.img", .readonly = false, .direct = false,
                                                         .virtual_size = 1 << 20},
                                      BlockDeviceSummary{.path = "/b.img", .readonly = true, .direct = true,
                                                         .virtual_size = 512}});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["device"], "virtio0");
  EXPECT_EQ(list[1]["device"], "virtio1");
  EXPECT_EQ(list[1]["qdev"], "/machine/peripheral-anon/device[1]/virtio-backend");
  EXPECT_EQ(list[0]["locked"], false);
  EXPECT_EQ(list[0]["removable"], false);
  EXPECT_EQ(list[0]["io-status"], "ok");
  const Json& inserted = list[1]["inserted"];
  EXPECT_EQ(inserted["file"], "/b.img");
  EXPECT_EQ(inserted["ro"], true);
  EXPECT_EQ(inserted["drv"], "raw");
  EXPECT_EQ(inserted["image"]["filename"], "/b.img");
  EXPECT_EQ(inserted["image"]["format"], "raw");
  EXPECT_EQ(inserted["image"]["virtual-size"], 512);
  EXPECT_EQ(inserted["cache"]["direct"], true);
  EXPECT_EQ(list[0]["inserted"]["ro"], false);
  EXPECT_EQ(query_block_json({}), Json::array());
}

TEST(QmpQueryBlock, DescribeDisksReadsTheImageSize) {
  char path[] = "/tmp/keel-qmp-query-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 3 << 20), 0);
  close(fd);
  const auto disks = describe_disks({virtio::blk::DiskSpec{.path = path, .readonly = true, .direct = false,
                                                           .serial = ""},
                                     virtio::blk::DiskSpec{.path = "/nonexistent/keel.img", .readonly = false,
                                                           .direct = false, .serial = ""}});
  std::filesystem::remove(path);
  ASSERT_EQ(disks.size(), 2u);
  EXPECT_EQ(disks[0].virtual_size, 3u << 20);
  EXPECT_TRUE(disks[0].readonly);
  EXPECT_EQ(disks[1].virtual_size, 0u);
}

TEST(QmpQueryPci, BridgeAndFunctionsWithTheirBars) {
  Bus pio("pio"), mmio("mmio");
  auto bridge = devices::PciHostBridge::create(pio, mmio, nullptr);
  bridge->install();
  auto function = std::make_shared<keel::testing::TestPciDevice>(
      std::initializer_list<std::pair<uint8_t, devices::PciBarInfo>>{
          {0, devices::PciBarInfo{.kind = devices::PciBarKind::io, .size = 32, .prefetchable = false}},
          {2, devices::PciBarInfo{.kind = devices::PciBarKind::memory64, .size = 0x4000, .prefetchable = true}}});
  const uint8_t slot = bridge->add_device(function);

  const Json result = query_pci_json(*bridge);
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(result[0]["bus"], 0);
  const Json& devices = result[0]["devices"];
  ASSERT_EQ(devices.size(), 2u);
  const Json& host = devices[0];
  EXPECT_EQ(host["slot"], 0);
  EXPECT_EQ(host["class_info"], (Json{{"desc", "Host bridge"}, {"class", 0x0600}}));
  EXPECT_EQ(host["id"]["vendor"], 0x8086);
  EXPECT_EQ(host["id"]["device"], 0x1237);
  EXPECT_EQ(host["irq_pin"], 0);
  EXPECT_FALSE(host.contains("irq"));
  EXPECT_EQ(host["regions"], Json::array());

  const Json& test = devices[1];
  EXPECT_EQ(test["slot"], slot);
  EXPECT_EQ(test["function"], 0);
  EXPECT_EQ(test["class_info"], (Json{{"class", 0xFF00}}));  // no desc for a class keel does not name
  EXPECT_EQ(test["id"]["vendor"], 0x1234);
  EXPECT_EQ(test["id"]["device"], 0x5678);
  EXPECT_EQ(test["irq_pin"], 1);
  EXPECT_TRUE(test["irq"].is_number_integer());
  EXPECT_EQ(test["qdev_id"], "");
  const Json& regions = test["regions"];
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0]["bar"], 0);
  EXPECT_EQ(regions[0]["type"], "io");
  EXPECT_EQ(regions[0]["size"], 32);
  EXPECT_FALSE(regions[0].contains("prefetch"));
  const auto decoded = function->decoded_bars();
  ASSERT_TRUE(decoded[0].has_value());  // add_device turned decode on
  EXPECT_EQ(regions[0]["address"], decoded[0]->address);
  EXPECT_EQ(regions[1]["bar"], 2);
  EXPECT_EQ(regions[1]["type"], "memory");
  EXPECT_EQ(regions[1]["size"], 0x4000);
  EXPECT_EQ(regions[1]["prefetch"], true);
  EXPECT_EQ(regions[1]["mem_type_64"], true);

  // Decode off (Command register cleared): QEMU shows an unmapped BAR at -1.
  const std::array<std::byte, 2> zero{};
  bridge->config_write(slot, 0, devices::pci_reg::kCommand, zero);
  const Json after = query_pci_json(*bridge)[0]["devices"][1]["regions"];
  EXPECT_EQ(after[0]["address"], -1);
  EXPECT_EQ(after[1]["address"], -1);
}

TEST(QmpQueryPci, ClassNames) {
  EXPECT_EQ(pci_class_description(0x0100), "SCSI controller");
  EXPECT_EQ(pci_class_description(0x0180), "Storage controller");
  EXPECT_EQ(pci_class_description(0x0200), "Ethernet controller");
  EXPECT_EQ(pci_class_description(0x1234), "");
}

}  // namespace
}  // namespace keel::vmm
