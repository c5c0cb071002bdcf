// Exit statistics (issue 10 item 4): how often each vCPU exits, why, and
// which bus range (device) took how long. Cheap enough to stay on:
//   - every vCPU owns a VcpuExitStats block and is its only writer, so the
//     hot path takes no lock and does no atomic read-modify-write (a relaxed
//     load and store per counter); any thread may read and sum the blocks;
//   - each bus table has a fixed capacity allocated before the vCPU starts,
//     so counting never allocates; when it is full, rows go to `other`;
//   - time is counted in TSC ticks (rdtsc costs ~10 ns on the hosts we run
//     on, clock_gettime(CLOCK_MONOTONIC_RAW) via the vDSO ~25 ns;
//     docs/performance.md) and turned into nanoseconds only when read.
// A row is keyed by (range base at the time of the exit, device object):
// when a guest moves a PCI BAR, the new base starts a new row and the old
// row keeps what it counted, so each row says where the accesses went.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <x86intrin.h>

namespace keel {

inline uint64_t stats_ticks() noexcept { return __rdtsc(); }

// Why a vCPU left KVM_RUN (the variants of kvm::VcpuExit).
enum class ExitKind : uint8_t {
  io,
  mmio,
  hlt,
  interrupted,
  shutdown,
  system_event,
  internal_error,
  fail_entry,
  run_failed,
  unknown,
};
inline constexpr size_t kExitKindCount = 10;
std::string_view exit_kind_name(ExitKind kind) noexcept;

// A count and a sum of ticks, written by one thread, read by any.
class StatCounter {
 public:
  void add(uint64_t ticks) noexcept {
    // Single writer: load + store, not fetch_add (no locked instruction).
    exits_.store(exits_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    ticks_.store(ticks_.load(std::memory_order_relaxed) + ticks, std::memory_order_relaxed);
  }
  uint64_t exits() const noexcept { return exits_.load(std::memory_order_relaxed); }
  uint64_t ticks() const noexcept { return ticks_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> exits_{0};
  std::atomic<uint64_t> ticks_{0};
};

// One bus's rows as one vCPU saw them.
class BusCounters {
 public:
  static constexpr size_t kCapacity = 64;  // a power of two
  static constexpr size_t kNameSize = 40;  // longer names are cut

  // The owning vCPU thread only. The row of the range at `base` served by
  // `device`; on first use the row is claimed and `length` and `name`
  // copied into it. Full table: other().
  StatCounter& row(uint64_t base, const void* device, uint64_t length, std::string_view name) noexcept;
  StatCounter& other() noexcept { return other_; }          // table full
  StatCounter& unclaimed() noexcept { return unclaimed_; }  // no range took the access

  struct RowView {
    uint64_t base;
    uint64_t length;
    std::string_view name;  // valid while this BusCounters lives
    uint64_t exits;
    uint64_t ticks;
  };
  // Any thread: the claimed rows, then "other" and "unclaimed" if non-zero
  // (length 0 marks those two).
  std::vector<RowView> rows() const;

 private:
  struct Slot {
    std::atomic<bool> used{false};  // release-published after the fields below
    uint64_t base = 0;
    const void* device = nullptr;
    uint64_t length = 0;
    std::array<char, kNameSize> name{};
    StatCounter counter;
  };
  std::array<Slot, kCapacity> slots_{};
  StatCounter other_;
  StatCounter unclaimed_;
};

struct VcpuExitStats {
  BusCounters pio;
  BusCounters mmio;
  std::array<std::atomic<uint64_t>, kExitKindCount> kinds{};
  void count(ExitKind kind) noexcept {
    auto& counter = kinds[static_cast<size_t>(kind)];
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

// What a reader gets: rows summed over the vCPUs, in nanoseconds.
struct StatsRow {
  std::string bus;  // "pio" or "mmio"
  uint64_t base = 0;
  uint64_t length = 0;  // 0: the "other" or "unclaimed" bucket
  std::string device;
  uint64_t exits = 0;
  uint64_t total_ns = 0;
  uint64_t mean_ns() const noexcept { return exits ? total_ns / exits : 0; }
  bool operator==(const StatsRow&) const = default;
};
struct StatsKindRow {
  std::string reason;
  uint64_t exits = 0;
  bool operator==(const StatsKindRow&) const = default;
};
struct StatsVcpuRow {
  uint32_t cpu = 0;
  uint64_t exits = 0;      // KVM exits of every kind
  uint64_t device_ns = 0;  // time in device handlers
  bool operator==(const StatsVcpuRow&) const = default;
};
struct StatsSnapshot {
  std::vector<StatsRow> rows;  // sorted: total_ns, then exits, descending
  std::vector<StatsKindRow> reasons;  // every kind with a non-zero count, by count descending
  std::vector<StatsVcpuRow> vcpus;
  bool operator==(const StatsSnapshot&) const = default;
};

// Sorts rows and reasons as StatsSnapshot documents (ties: bus, base, name).
void sort_snapshot(StatsSnapshot& snapshot);

// The blocks of one machine, made before its vCPUs start.
class ExitStats {
 public:
  explicit ExitStats(uint32_t vcpus);
  uint32_t vcpu_count() const noexcept { return static_cast<uint32_t>(blocks_.size()); }
  VcpuExitStats& vcpu(uint32_t id) noexcept { return *blocks_[id]; }
  // Any thread, any time. The TSC rate is measured against steady_clock
  // from construction to now (at least 2 ms, waited for if need be).
  StatsSnapshot snapshot() const;

 private:
  std::vector<std::unique_ptr<VcpuExitStats>> blocks_;
  uint64_t start_ticks_;
  int64_t start_ns_;
};

}  // namespace keel
