// Exit statistics through the vCPU exit path (handle_exit with a stats
// block) and QMP's x-keel-stats (src/vmm/qmp_stats_command.h).
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>

#include "keel/exit_stats.h"
#include "src/vmm/exit_dispatch.h"
#include "src/vmm/qmp_stats_command.h"
#include "tests/support/allocation_counter.h"

namespace keel::vmm {
namespace {

namespace ex = kvm::exit;

class Echo final : public BusDevice {
 public:
  void read(uint64_t, std::span<std::byte> data) noexcept override {
    for (auto& b : data) b = std::byte{1};
  }
  void write(uint64_t, std::span<const std::byte>) noexcept override {}
};

struct Rig {
  Bus pio{"pio"};
  Bus mmio{"mmio"};
  ExitStats stats{1};
  Rig() {
    EXPECT_TRUE(pio.insert(0x3f8, 8, std::make_shared<Echo>(), "COM1 UART"));
    EXPECT_TRUE(mmio.insert(0xd000'0000, 0x1000, std::make_shared<Echo>(), "PCI 00:01.0 BAR0"));
  }
};

TEST(ExitStatsDispatch, CountsKindsAndRangesPerAccess) {
  Rig rig;
  VcpuExitStats* block = &rig.stats.vcpu(0);
  std::array<std::byte, 4> rep{};
  // rep outsb of 4 bytes: one exit, four accesses to the UART's row.
  EXPECT_FALSE(handle_exit(ex::Io{.port = 0x3f8, .size = 1, .is_write = true, .count = 4, .data = rep}, rig.pio,
                           rig.mmio, block));
  std::array<std::byte, 4> word{};
  EXPECT_FALSE(
      handle_exit(ex::Mmio{.address = 0xd000'0010, .is_write = false, .data = word}, rig.pio, rig.mmio, block));
  const ex::Io nothing_there{.port = 0x80, .size = 1, .is_write = true, .count = 1, .data = std::span(rep).first(1)};
  EXPECT_FALSE(handle_exit(nothing_there, rig.pio, rig.mmio, block));
  EXPECT_FALSE(handle_exit(ex::Hlt{}, rig.pio, rig.mmio, block));
  EXPECT_TRUE(handle_exit(ex::Shutdown{}, rig.pio, rig.mmio, block));
  // Without a block nothing is counted.
  EXPECT_FALSE(handle_exit(ex::Hlt{}, rig.pio, rig.mmio));

  const StatsSnapshot snapshot = rig.stats.snapshot();
  std::map<std::string, uint64_t> by_device;
  for (const StatsRow& row : snapshot.rows) by_device[row.bus + " " + row.device] = row.exits;
  EXPECT_EQ(by_device, (std::map<std::string, uint64_t>{
                           {"pio COM1 UART", 4}, {"mmio PCI 00:01.0 BAR0", 1}, {"pio (unclaimed)", 1}}));
  std::map<std::string, uint64_t> reasons;
  for (const StatsKindRow& row : snapshot.reasons) reasons[row.reason] = row.exits;
  EXPECT_EQ(reasons, (std::map<std::string, uint64_t>{{"io", 2}, {"mmio", 1}, {"hlt", 1}, {"shutdown", 1}}));
  ASSERT_EQ(snapshot.vcpus.size(), 1u);
  EXPECT_EQ(snapshot.vcpus[0].exits, 5u);
}

// Guest-driven exits with statistics on allocate nothing, even the first
// access to a range (which claims its row).
TEST(ExitStatsDispatch, CountedExitsDoNotAllocate) {
  Rig rig;
  VcpuExitStats* block = &rig.stats.vcpu(0);
  std::array<std::byte, 4> data{};
  const uint64_t allocations = testing::allocations_in([&] {
    for (int i = 0; i < 50; ++i) {
      (void)handle_exit(ex::Io{.port = 0x3f8, .size = 1, .is_write = true, .count = 4, .data = data}, rig.pio,
                        rig.mmio, block);
      (void)handle_exit(ex::Mmio{.address = 0xd000'0000, .is_write = true, .data = data}, rig.pio, rig.mmio, block);
      const ex::Io unclaimed{.port = 0x1234, .size = 2, .is_write = false, .count = 1, .data = std::span(data).first(2)};
      (void)handle_exit(unclaimed, rig.pio, rig.mmio, block);
      (void)handle_exit(ex::Hlt{}, rig.pio, rig.mmio, block);
    }
  });
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(block->pio.rows().size(), 2u);  // the UART and the unclaimed row
}

qmp::CommandResult call(const qmp::CommandRegistry& registry) {
  const qmp::Command* command = registry.find("x-keel-stats");
  EXPECT_NE(command, nullptr);
  qmp::CommandContext context{.command_mode = true};
  return command->handler(qmp::Json::object(), context);
}

TEST(XKeelStats, ReturnsTheSnapshotAsJson) {
  Rig rig;
  std::array<std::byte, 1> byte{};
  (void)handle_exit(ex::Io{.port = 0x3f8, .size = 1, .is_write = true, .count = 1, .data = byte}, rig.pio, rig.mmio,
                    &rig.stats.vcpu(0));
  qmp::CommandRegistry registry;
  register_stats_command(registry, [&rig]() -> const ExitStats* { return &rig.stats; });
  const qmp::CommandResult result = call(registry);
  ASSERT_TRUE(result.has_value());
  const qmp::Json& json = *result;
  ASSERT_EQ(json["ranges"].size(), 1u);
  const qmp::Json& row = json["ranges"][0];
  EXPECT_EQ(row["bus"], "pio");
  EXPECT_EQ(row["base"], 0x3f8);
  EXPECT_EQ(row["length"], 8);
  EXPECT_EQ(row["device"], "COM1 UART");
  EXPECT_EQ(row["exits"], 1);
  EXPECT_TRUE(row["total-ns"].is_number_unsigned());
  EXPECT_EQ(row["mean-ns"], row["total-ns"]);
  EXPECT_EQ(json["exit-reasons"], qmp::Json::parse(R"([{"reason": "io", "exits": 1}])"));
  ASSERT_EQ(json["vcpus"].size(), 1u);
  EXPECT_EQ(json["vcpus"][0]["cpu-index"], 0);
  EXPECT_EQ(json["vcpus"][0]["exits"], 1);
}

TEST(XKeelStats, NoStatsIsAGenericError) {
  qmp::CommandRegistry registry;
  register_stats_command(registry, []() -> const ExitStats* { return nullptr; });
  const qmp::CommandResult result = call(registry);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().error_class, qmp::ErrorClass::generic_error);
  EXPECT_EQ(result.error().desc, "exit statistics are not available");
}

}  // namespace
}  // namespace keel::vmm
