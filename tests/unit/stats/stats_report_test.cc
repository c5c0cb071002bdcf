// Sorting, the plain table and the x-keel-stats JSON (src/stats/stats_report.h).
#include "src/stats/stats_report.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace keel::stats {
namespace {

StatsSnapshot sample() {
  StatsSnapshot snapshot;
  snapshot.rows = {
      {"pio", 0x60, 1, "i8042 data port", 10, 5'000},
      {"pio", 0x3f8, 8, "COM1 UART", 1000, 2'500'000},
      {"mmio", 0xfebf0000, 0x1000, "PCI 00:01.0 BAR0", 50, 2'500'000},
      {"pio", 0, 0, "(unclaimed)", 7, 0},
  };
  snapshot.reasons = {{"hlt", 3}, {"io", 1017}, {"mmio", 50}};
  snapshot.vcpus = {{0, 1070, 5'005'000}};
  sort_snapshot(snapshot);
  return snapshot;
}

TEST(StatsReport, SortedByTotalTimeThenExits) {
  const StatsSnapshot snapshot = sample();
  ASSERT_EQ(snapshot.rows.size(), 4u);
  EXPECT_EQ(snapshot.rows[0].device, "COM1 UART");  // same time as the BAR, more exits
  EXPECT_EQ(snapshot.rows[1].device, "PCI 00:01.0 BAR0");
  EXPECT_EQ(snapshot.rows[2].device, "i8042 data port");
  EXPECT_EQ(snapshot.rows[3].device, "(unclaimed)");
  EXPECT_EQ(snapshot.reasons[0].reason, "io");
  EXPECT_EQ(snapshot.reasons[2].reason, "hlt");
  EXPECT_EQ(snapshot.rows[0].mean_ns(), 2500u);
  EXPECT_EQ(snapshot.rows[3].mean_ns(), 0u);
}

TEST(StatsReport, Table) {
  const std::string table = format_table(sample());
  const std::string expected =
      "bus                 base     length        exits     total ms    mean ns  device\n"
      "pio                0x3f8        0x8         1000        2.500       2500  COM1 UART\n"
      "mmio          0xfebf0000     0x1000           50        2.500      50000  PCI 00:01.0 BAR0\n"
      "pio                 0x60        0x1           10        0.005        500  i8042 data port\n"
      "pio                    -          -            7        0.000          0  (unclaimed)\n"
      "exits by reason: io 1017, mmio 50, hlt 3\n"
      "vcpu 0: 1070 exits, 5.005 ms in device handlers\n";
  EXPECT_EQ(table, expected);
  const std::string header = expected.substr(0, expected.find('\n') + 1);
  EXPECT_EQ(format_table(StatsSnapshot{}), header + "(no device exits)\nexits by reason: none\n");
}

TEST(StatsReport, JsonShape) {
  const nlohmann::ordered_json json = to_json(sample());
  ASSERT_TRUE(json["ranges"].is_array());
  const nlohmann::ordered_json& first = json["ranges"][0];
  EXPECT_EQ(first, (nlohmann::ordered_json{{"bus", "pio"}, {"base", 0x3f8}, {"length", 8}, {"device", "COM1 UART"},
                                   {"exits", 1000}, {"total-ns", 2'500'000}, {"mean-ns", 2500}}));
  EXPECT_EQ(json["exit-reasons"][0], (nlohmann::ordered_json{{"reason", "io"}, {"exits", 1017}}));
  EXPECT_EQ(json["vcpus"][0], (nlohmann::ordered_json{{"cpu-index", 0}, {"exits", 1070}, {"device-ns", 5'005'000}}));
  EXPECT_EQ(json.size(), 3u);
}

TEST(StatsReport, JsonRoundTrip) {
  EXPECT_EQ(from_json(to_json(sample())), sample());
  // Another order in, sorted order out.
  nlohmann::ordered_json shuffled = to_json(sample());
  std::swap(shuffled["ranges"][0], shuffled["ranges"][3]);
  EXPECT_EQ(from_json(shuffled), sample());
}

TEST(StatsReport, BadJsonNamesTheField) {
  const auto error = [](const nlohmann::ordered_json& value) {
    try {
      (void)from_json(value);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error(nlohmann::ordered_json::array()), "x-keel-stats: the reply is not an object");
  EXPECT_EQ(error(nlohmann::ordered_json::object()), "x-keel-stats: the reply has no 'ranges'");
  nlohmann::ordered_json bad = to_json(sample());
  bad["ranges"][1]["exits"] = -1;
  EXPECT_EQ(error(bad), "x-keel-stats: ranges[1].exits is not a non-negative integer");
  bad = to_json(sample());
  bad["vcpus"][0].erase("device-ns");
  EXPECT_EQ(error(bad), "x-keel-stats: vcpus[0] has no 'device-ns'");
  bad = to_json(sample());
  bad["exit-reasons"] = "io";
  EXPECT_EQ(error(bad), "x-keel-stats: 'exit-reasons' is not an array");
}

}  // namespace
}  // namespace keel::stats
