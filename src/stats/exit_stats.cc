// The counter tables of include/keel/exit_stats.h and their summing.
#include "keel/exit_stats.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>

namespace keel {

namespace {

constexpr std::array<std::string_view, kExitKindCount> kKindNames = {
    "io", "mmio", "hlt", "interrupted", "shutdown", "system-event", "internal-error", "fail-entry", "run-failed",
    "unknown"};

int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t slot_hash(uint64_t base, const void* device) noexcept {
  // Fibonacci hashing of base and device address; the top bits index.
  const uint64_t key = base ^ (reinterpret_cast<uintptr_t>(device) >> 4);
  return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 58) & (BusCounters::kCapacity - 1);
}
static_assert(BusCounters::kCapacity == 64, "slot_hash keeps the top 6 bits");

}  // namespace

std::string_view exit_kind_name(ExitKind kind) noexcept {
  const auto index = static_cast<size_t>(kind);
  return index < kKindNames.size() ? kKindNames[index] : "unknown";
}

StatCounter& BusCounters::row(uint64_t base, const void* device, uint64_t length, std::string_view name) noexcept {
  size_t index = slot_hash(base, device);
  for (size_t probe = 0; probe < kCapacity; ++probe, index = (index + 1) & (kCapacity - 1)) {
    Slot& slot = slots_[index];
    // Only this thread writes slots, so a relaxed look at `used` is enough here.
    if (!slot.used.load(std::memory_order_relaxed)) {
      slot.base = base;
      slot.device = device;
      slot.length = length;
      const size_t n = std::min(name.size(), kNameSize - 1);
      std::memcpy(slot.name.data(), name.data(), n);
      slot.name[n] = '\0';
      slot.used.store(true, std::memory_order_release);
      return slot.counter;
    }
    if (slot.base == base && slot.device == device) return slot.counter;
  }
  return other_;
}

std::vector<BusCounters::RowView> BusCounters::rows() const {
  std::vector<RowView> out;
  for (const Slot& slot : slots_) {
    if (!slot.used.load(std::memory_order_acquire)) continue;
    out.push_back({slot.base, slot.length, std::string_view(slot.name.data()), slot.counter.exits(),
                   slot.counter.ticks()});
  }
  if (other_.exits()) out.push_back({0, 0, "(other: table full)", other_.exits(), other_.ticks()});
  if (unclaimed_.exits()) out.push_back({0, 0, "(unclaimed)", unclaimed_.exits(), unclaimed_.ticks()});
  return out;
}

void sort_snapshot(StatsSnapshot& snapshot) {
  std::sort(snapshot.rows.begin(), snapshot.rows.end(), [](const StatsRow& a, const StatsRow& b) {
    return std::tie(b.total_ns, b.exits, a.bus, a.base, a.device) <
           std::tie(a.total_ns, a.exits, b.bus, b.base, b.device);
  });
  std::sort(snapshot.reasons.begin(), snapshot.reasons.end(), [](const StatsKindRow& a, const StatsKindRow& b) {
    return std::tie(b.exits, a.reason) < std::tie(a.exits, b.reason);
  });
}

ExitStats::ExitStats(uint32_t vcpus) : start_ticks_(stats_ticks()), start_ns_(steady_ns()) {
  blocks_.reserve(vcpus);
  for (uint32_t i = 0; i < vcpus; ++i) blocks_.push_back(std::make_unique<VcpuExitStats>());
}

StatsSnapshot ExitStats::snapshot() const {
  // The TSC rate over the stats' whole life: precise for any run worth
  // reading, and no calibration pause at start-up.
  constexpr int64_t kMinCalibrationNs = 2'000'000;
  int64_t elapsed_ns = steady_ns() - start_ns_;
  if (elapsed_ns < kMinCalibrationNs) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(kMinCalibrationNs - elapsed_ns));
    elapsed_ns = steady_ns() - start_ns_;
  }
  const uint64_t elapsed_ticks = stats_ticks() - start_ticks_;
  const double ns_per_tick = elapsed_ticks ? static_cast<double>(elapsed_ns) / static_cast<double>(elapsed_ticks) : 1.0;
  const auto to_ns = [ns_per_tick](uint64_t ticks) {
    return static_cast<uint64_t>(static_cast<double>(ticks) * ns_per_tick);
  };

  StatsSnapshot snapshot;
  std::map<std::tuple<std::string, uint64_t, uint64_t, std::string>, std::pair<uint64_t, uint64_t>> merged;
  std::array<uint64_t, kExitKindCount> kinds{};
  for (uint32_t cpu = 0; cpu < blocks_.size(); ++cpu) {
    const VcpuExitStats& block = *blocks_[cpu];
    StatsVcpuRow vcpu_row{.cpu = cpu, .exits = 0, .device_ns = 0};
    for (size_t k = 0; k < kExitKindCount; ++k) {
      const uint64_t n = block.kinds[k].load(std::memory_order_relaxed);
      kinds[k] += n;
      vcpu_row.exits += n;
    }
    uint64_t ticks = 0;
    for (const auto& [bus_name, bus] : {std::pair{"pio", &block.pio}, std::pair{"mmio", &block.mmio}}) {
      for (const BusCounters::RowView& row : bus->rows()) {
        auto& [exits, row_ticks] = merged[{bus_name, row.base, row.length, std::string(row.name)}];
        exits += row.exits;
        row_ticks += row.ticks;
        ticks += row.ticks;
      }
    }
    vcpu_row.device_ns = to_ns(ticks);
    snapshot.vcpus.push_back(vcpu_row);
  }
  for (const auto& [key, value] : merged) {
    const auto& [bus, base, length, device] = key;
    snapshot.rows.push_back(StatsRow{.bus = bus, .base = base, .length = length, .device = device,
                                     .exits = value.first, .total_ns = to_ns(value.second)});
  }
  for (size_t k = 0; k < kExitKindCount; ++k) {
    if (kinds[k]) snapshot.reasons.push_back({std::string(kKindNames[k]), kinds[k]});
  }
  sort_snapshot(snapshot);
  return snapshot;
}

}  // namespace keel
