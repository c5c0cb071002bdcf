#include "src/stats/stats_report.h"

#include <stdexcept>

#include <fmt/format.h>

namespace keel::stats {

namespace {

using Json = nlohmann::ordered_json;  // QMP's own (src/qmp): fields in the order written

std::string milliseconds(uint64_t ns) { return fmt::format("{}.{:03}", ns / 1'000'000, (ns / 1000) % 1000); }

const Json& field(const Json& object, const char* name, const std::string& where) {
  if (!object.is_object() || !object.contains(name)) {
    throw std::invalid_argument(fmt::format("x-keel-stats: {} has no '{}'", where, name));
  }
  return object[name];
}

uint64_t number(const Json& object, const char* name, const std::string& where) {
  const Json& value = field(object, name, where);
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
    throw std::invalid_argument(fmt::format("x-keel-stats: {}.{} is not a non-negative integer", where, name));
  }
  return value.get<uint64_t>();
}

std::string text(const Json& object, const char* name, const std::string& where) {
  const Json& value = field(object, name, where);
  if (!value.is_string()) throw std::invalid_argument(fmt::format("x-keel-stats: {}.{} is not a string", where, name));
  return value.get<std::string>();
}

const Json& array(const Json& object, const char* name) {
  const Json& value = field(object, name, "the reply");
  if (!value.is_array()) throw std::invalid_argument(fmt::format("x-keel-stats: '{}' is not an array", name));
  return value;
}

}  // namespace

std::string format_table(const StatsSnapshot& snapshot) {
  std::string out = fmt::format("{:<5} {:>18} {:>10} {:>12} {:>12} {:>10}  {}\n", "bus", "base", "length", "exits",
                                "total ms", "mean ns", "device");
  for (const StatsRow& row : snapshot.rows) {
    const std::string base = row.length ? fmt::format("{:#x}", row.base) : "-";
    const std::string length = row.length ? fmt::format("{:#x}", row.length) : "-";
    out += fmt::format("{:<5} {:>18} {:>10} {:>12} {:>12} {:>10}  {}\n", row.bus, base, length, row.exits,
                       milliseconds(row.total_ns), row.mean_ns(), row.device);
  }
  if (snapshot.rows.empty()) out += "(no device exits)\n";
  std::string reasons;
  for (const StatsKindRow& reason : snapshot.reasons) {
    reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", reason.reason, reason.exits);
  }
  out += fmt::format("exits by reason: {}\n", reasons.empty() ? "none" : reasons);
  for (const StatsVcpuRow& vcpu : snapshot.vcpus) {
    out += fmt::format("vcpu {}: {} exits, {} ms in device handlers\n", vcpu.cpu, vcpu.exits,
                       milliseconds(vcpu.device_ns));
  }
  return out;
}

Json to_json(const StatsSnapshot& snapshot) {
  Json ranges = Json::array();
  for (const StatsRow& row : snapshot.rows) {
    ranges.push_back({{"bus", row.bus}, {"base", row.base}, {"length", row.length}, {"device", row.device},
                      {"exits", row.exits}, {"total-ns", row.total_ns}, {"mean-ns", row.mean_ns()}});
  }
  Json reasons = Json::array();
  for (const StatsKindRow& reason : snapshot.reasons) {
    reasons.push_back({{"reason", reason.reason}, {"exits", reason.exits}});
  }
  Json vcpus = Json::array();
  for (const StatsVcpuRow& vcpu : snapshot.vcpus) {
    vcpus.push_back({{"cpu-index", vcpu.cpu}, {"exits", vcpu.exits}, {"device-ns", vcpu.device_ns}});
  }
  return Json{{"ranges", std::move(ranges)}, {"exit-reasons", std::move(reasons)}, {"vcpus", std::move(vcpus)}};
}

StatsSnapshot from_json(const Json& value) {
  if (!value.is_object()) throw std::invalid_argument("x-keel-stats: the reply is not an object");
  StatsSnapshot snapshot;
  size_t index = 0;
  for (const Json& row : array(value, "ranges")) {
    const std::string where = fmt::format("ranges[{}]", index++);
    snapshot.rows.push_back(StatsRow{.bus = text(row, "bus", where), .base = number(row, "base", where),
                                     .length = number(row, "length", where), .device = text(row, "device", where),
                                     .exits = number(row, "exits", where),
                                     .total_ns = number(row, "total-ns", where)});
  }
  index = 0;
  for (const Json& row : array(value, "exit-reasons")) {
    const std::string where = fmt::format("exit-reasons[{}]", index++);
    snapshot.reasons.push_back({text(row, "reason", where), number(row, "exits", where)});
  }
  index = 0;
  for (const Json& row : array(value, "vcpus")) {
    const std::string where = fmt::format("vcpus[{}]", index++);
    const uint64_t cpu = number(row, "cpu-index", where);
    if (cpu > UINT32_MAX) throw std::invalid_argument(fmt::format("x-keel-stats: {}.cpu-index is too large", where));
    snapshot.vcpus.push_back(
        {static_cast<uint32_t>(cpu), number(row, "exits", where), number(row, "device-ns", where)});
  }
  sort_snapshot(snapshot);
  return snapshot;
}

}  // namespace keel::stats
