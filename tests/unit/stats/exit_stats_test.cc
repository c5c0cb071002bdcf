// The per-vCPU counter tables (include/keel/exit_stats.h) and the Bus
// recording into them.
#include "keel/exit_stats.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "keel/bus.h"
#include "tests/support/allocation_counter.h"

namespace keel {
namespace {

class NullDevice final : public BusDevice {
 public:
  void read(uint64_t, std::span<std::byte> data) noexcept override {
    for (auto& b : data) b = std::byte{0x42};
  }
  void write(uint64_t, std::span<const std::byte>) noexcept override {}
};

TEST(BusCounters, SameRangeSameRowNewBaseNewRow) {
  BusCounters table;
  int device = 0;
  StatCounter& a = table.row(0x3f8, &device, 8, "COM1 UART");
  a.add(10);
  StatCounter& again = table.row(0x3f8, &device, 8, "ignored on later calls");
  EXPECT_EQ(&a, &again);
  again.add(5);
  // A moved BAR: same device, new base, a row of its own; the old row keeps its counts.
  table.row(0x4000, &device, 8, "COM1 UART").add(1);
  const auto rows = table.rows();
  ASSERT_EQ(rows.size(), 2u);
  uint64_t total_exits = 0;
  for (const auto& row : rows) {
    EXPECT_EQ(row.name, "COM1 UART");
    EXPECT_EQ(row.length, 8u);
    total_exits += row.exits;
    if (row.base == 0x3f8) {
      EXPECT_EQ(row.exits, 2u);
      EXPECT_EQ(row.ticks, 15u);
    }
  }
  EXPECT_EQ(total_exits, 3u);
}

TEST(BusCounters, SameBaseOtherDeviceIsAnotherRow) {
  BusCounters table;
  int first = 0;
  int second = 0;
  EXPECT_NE(&table.row(0x1000, &first, 16, "a"), &table.row(0x1000, &second, 16, "b"));
}

TEST(BusCounters, LongNamesAreCut) {
  BusCounters table;
  int device = 0;
  const std::string name(100, 'x');
  table.row(1, &device, 1, name).add(1);
  EXPECT_EQ(table.rows().at(0).name, std::string(BusCounters::kNameSize - 1, 'x'));
}

TEST(BusCounters, FullTableGoesToOtherWithoutAllocating) {
  auto table = std::make_unique<BusCounters>();
  int device = 0;
  const uint64_t allocations = testing::allocations_in([&] {
    for (uint64_t i = 0; i < BusCounters::kCapacity + 10; ++i) table->row(i * 0x1000, &device, 0x1000, "dev").add(3);
  });
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(table->other().exits(), 10u);
  EXPECT_EQ(table->other().ticks(), 30u);
  const auto rows = table->rows();
  ASSERT_EQ(rows.size(), BusCounters::kCapacity + 1);
  EXPECT_EQ(rows.back().name, "(other: table full)");
  EXPECT_EQ(rows.back().length, 0u);
  // Rows already claimed still find their own slot when the table is full.
  table->row(0, &device, 0x1000, "dev").add(1);
  EXPECT_EQ(table->other().exits(), 10u);
}

TEST(BusStats, CountsHitsAndMissesWithoutAllocating) {
  Bus bus("pio");
  auto device = std::make_shared<NullDevice>();
  ASSERT_TRUE(bus.insert(0x3f8, 8, device, "COM1 UART"));
  ASSERT_TRUE(bus.insert(0x60, 1, device));  // no name: "unnamed"
  auto counters = std::make_unique<BusCounters>();
  std::array<std::byte, 1> byte{};
  const uint64_t allocations = testing::allocations_in([&] {
    for (int i = 0; i < 100; ++i) {
      EXPECT_TRUE(bus.write(0x3f8 + (i % 8), byte, counters.get()));
      EXPECT_TRUE(bus.read(0x3f9, byte, counters.get()));
    }
    EXPECT_TRUE(bus.read(0x60, byte, counters.get()));
    EXPECT_FALSE(bus.read(0x1234, byte, counters.get()));   // no range
    const std::array<std::byte, 2> word{};
    EXPECT_FALSE(bus.write(0x3ff, word, counters.get()));  // straddles the range's end
  });
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(counters->unclaimed().exits(), 2u);
  const auto rows = counters->rows();
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    if (row.base == 0x3f8) {
      EXPECT_EQ(row.name, "COM1 UART");
      EXPECT_EQ(row.exits, 200u);
      EXPECT_GT(row.ticks, 0u);
    } else if (row.base == 0x60) {
      EXPECT_EQ(row.name, "unnamed");
      EXPECT_EQ(row.exits, 1u);
    } else {
      EXPECT_EQ(row.name, "(unclaimed)");
    }
  }
  // Without counters nothing is recorded.
  EXPECT_TRUE(bus.read(0x3f8, byte));
  EXPECT_EQ(counters->rows().size(), 3u);
}

TEST(ExitStats, SnapshotSumsVcpusAndKinds) {
  ExitStats stats(2);
  int device = 0;
  stats.vcpu(0).pio.row(0x3f8, &device, 8, "COM1 UART").add(1000);
  stats.vcpu(1).pio.row(0x3f8, &device, 8, "COM1 UART").add(3000);
  stats.vcpu(1).mmio.row(0xfe000000, &device, 0x1000, "PCI 00:01.0 BAR0").add(100);
  stats.vcpu(0).count(ExitKind::io);
  stats.vcpu(1).count(ExitKind::io);
  stats.vcpu(1).count(ExitKind::mmio);
  stats.vcpu(1).count(ExitKind::hlt);
  const StatsSnapshot snapshot = stats.snapshot();
  ASSERT_EQ(snapshot.rows.size(), 2u);
  EXPECT_EQ(snapshot.rows[0].bus, "pio");  // the most time first
  EXPECT_EQ(snapshot.rows[0].device, "COM1 UART");
  EXPECT_EQ(snapshot.rows[0].exits, 2u);
  EXPECT_GT(snapshot.rows[0].total_ns, snapshot.rows[1].total_ns);
  EXPECT_EQ(snapshot.rows[1].bus, "mmio");
  EXPECT_EQ(snapshot.rows[1].base, 0xfe000000u);
  ASSERT_EQ(snapshot.reasons.size(), 3u);
  EXPECT_EQ(snapshot.reasons[0], (StatsKindRow{"io", 2}));
  ASSERT_EQ(snapshot.vcpus.size(), 2u);
  EXPECT_EQ(snapshot.vcpus[0].exits, 1u);
  EXPECT_EQ(snapshot.vcpus[1].exits, 3u);
  EXPECT_GT(snapshot.vcpus[1].device_ns, snapshot.vcpus[0].device_ns);
}

// Several vCPU threads count while a reader sums: the reader never sees
// more than was counted, and at the end it sees everything.
TEST(ExitStats, ConcurrentWritersAndAReader) {
  constexpr uint32_t kThreads = 4;
  constexpr uint64_t kPerThread = 200'000;
  ExitStats stats(kThreads);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const StatsSnapshot snapshot = stats.snapshot();
      for (const StatsRow& row : snapshot.rows) EXPECT_LE(row.exits, kThreads * kPerThread);
      reads.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  static int devices[2];
  for (uint32_t t = 0; t < kThreads; ++t) {
    writers.emplace_back([&stats, t] {
      VcpuExitStats& mine = stats.vcpu(t);
      for (uint64_t i = 0; i < kPerThread; ++i) {
        mine.count(ExitKind::io);
        mine.pio.row(0x3f8 + (i % 2) * 0x100, &devices[i % 2], 8, i % 2 ? "b" : "a").add(2);
      }
    });
  }
  for (auto& writer : writers) writer.join();
  done.store(true);
  reader.join();
  const StatsSnapshot snapshot = stats.snapshot();
  ASSERT_EQ(snapshot.rows.size(), 2u);
  EXPECT_EQ(snapshot.rows[0].exits + snapshot.rows[1].exits, kThreads * kPerThread);
  EXPECT_EQ(snapshot.reasons.at(0).exits, kThreads * kPerThread);
  for (const StatsVcpuRow& vcpu : snapshot.vcpus) EXPECT_EQ(vcpu.exits, kPerThread);
  EXPECT_GT(reads.load(), 0u);
}

TEST(ExitStats, KindNames) {
  EXPECT_EQ(exit_kind_name(ExitKind::io), "io");
  EXPECT_EQ(exit_kind_name(ExitKind::system_event), "system-event");
  EXPECT_EQ(exit_kind_name(ExitKind::unknown), "unknown");
  EXPECT_EQ(exit_kind_name(static_cast<ExitKind>(200)), "unknown");
}

}  // namespace
}  // namespace keel
