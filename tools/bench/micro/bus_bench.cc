// bus_bench: the cost of one Bus dispatch (lookup + device call) with and
// without exit statistics (include/keel/exit_stats.h), no KVM. This is the
// part of a vCPU exit keel adds on top of the kernel's round trip (several
// microseconds on the project's hosts), so it tells whether statistics can
// stay on. Also the clocks the statistics could use.
//
// The bus holds the PC's fixed ports (about a dozen ranges, as the machine
// builder inserts) and two MMIO BARs; the device does nothing, so the rows
// are keel's own overhead. "2 threads" runs two vCPU-like threads at once,
// each with its own counters, on the same bus (the machine has 2 cores).
//
// Usage: bus_bench [--accesses N] [--runs R]. Prints one table: ns per
// access, the best of R runs, "no stats" and "stats" runs interleaved so
// that load from other processes (a fuzzer on the other core) hits both
// alike; the best run is the one least disturbed.
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "keel/bus.h"
#include "keel/exit_stats.h"

namespace {

class NullDevice final : public keel::BusDevice {
 public:
  void read(uint64_t, std::span<std::byte> data) noexcept override { std::memset(data.data(), 0, data.size()); }
  void write(uint64_t, std::span<const std::byte>) noexcept override {}
};

struct Options {
  uint64_t accesses = 2'000'000;
  int runs = 7;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--accesses" && i + 1 < argc) {
      options.accesses = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--runs" && i + 1 < argc) {
      options.runs = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bus_bench [--accesses N] [--runs R]\n");
      std::exit(2);
    }
  }
  if (options.accesses == 0 || options.runs <= 0) {
    std::fprintf(stderr, "bus_bench: --accesses and --runs must be positive\n");
    std::exit(2);
  }
  return options;
}

struct Machine {
  keel::Bus pio{"pio"};
  keel::Bus mmio{"mmio"};
  Machine() {
    auto device = std::make_shared<NullDevice>();
    const std::array<std::pair<uint64_t, uint64_t>, 12> ports = {{{0x20, 2}, {0x40, 4}, {0x60, 1}, {0x61, 1},
                                                                   {0x64, 1}, {0x70, 2}, {0x80, 1}, {0xa0, 2},
                                                                   {0x2f8, 8}, {0x3f8, 8}, {0x501, 2}, {0xcf8, 8}}};
    for (auto [base, length] : ports) (void)pio.insert(base, length, device, "port " + std::to_string(base));
    (void)mmio.insert(0xfe00'0000, 0x4000, device, "PCI 00:01.0 BAR4");
    (void)mmio.insert(0xfebf'0000, 0x1000, device, "PCI 00:01.0 BAR1");
  }
};

double ns_per(uint64_t n, std::chrono::steady_clock::duration elapsed) {
  return std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(n);
}

// One thread's loop: serial port writes (the most common exit of a chatty
// guest), alternating with 4-byte MMIO reads.
double run_loop(Machine& m, uint64_t accesses, keel::VcpuExitStats* stats) {
  std::array<std::byte, 4> data{};
  keel::BusCounters* pio = stats ? &stats->pio : nullptr;
  keel::BusCounters* mmio = stats ? &stats->mmio : nullptr;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < accesses; ++i) {
    if (i & 1) {
      (void)m.mmio.read(0xfe00'0000 + (i & 0xff0), data, mmio);
    } else {
      (void)m.pio.write(0x3f8 + (i & 7), std::span(data).first(1), pio);
    }
  }
  return ns_per(accesses, std::chrono::steady_clock::now() - start);
}

double best(const std::vector<double>& values) { return *std::min_element(values.begin(), values.end()); }

double measure(const Options& options, const std::function<double()>& once) {
  std::vector<double> runs;
  for (int r = 0; r < options.runs; ++r) runs.push_back(once());
  return best(runs);
}

// Runs `a` and `b` alternately, R times each: the best of each.
std::pair<double, double> measure_pair(const Options& options, const std::function<double()>& a,
                                       const std::function<double()>& b) {
  std::vector<double> first;
  std::vector<double> second;
  for (int r = 0; r < options.runs; ++r) {
    first.push_back(a());
    second.push_back(b());
  }
  return {best(first), best(second)};
}

double two_threads(Machine& m, uint64_t accesses, keel::ExitStats* stats) {
  std::array<double, 2> result{};
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] { result[t] = run_loop(m, accesses, stats ? &stats->vcpu(t) : nullptr); });
  }
  for (auto& thread : threads) thread.join();
  return (result[0] + result[1]) / 2;
}

template <class Read>
double clock_cost(uint64_t n, Read read) {
  uint64_t sink = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; ++i) sink += read();
  const double ns = ns_per(n, std::chrono::steady_clock::now() - start);
  if (sink == 42) std::puts("");  // keep the reads
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  Machine m;
  keel::ExitStats stats(2);
  run_loop(m, options.accesses / 10, &stats.vcpu(0));  // warm up, claim the rows

  const auto [off, on] = measure_pair(options, [&] { return run_loop(m, options.accesses, nullptr); },
                                      [&] { return run_loop(m, options.accesses, &stats.vcpu(0)); });
  const auto [off2, on2] = measure_pair(options, [&] { return two_threads(m, options.accesses, nullptr); },
                                        [&] { return two_threads(m, options.accesses, &stats); });

  std::printf("bus_bench: ns per bus access (1-byte PIO writes and 4-byte MMIO reads, null device), "
              "best of %d runs of %llu\n",
              options.runs, static_cast<unsigned long long>(options.accesses));
  std::printf("%-28s %12s %12s %12s\n", "case", "no stats", "stats", "overhead");
  std::printf("%-28s %12.1f %12.1f %12.1f\n", "1 thread", off, on, on - off);
  std::printf("%-28s %12.1f %12.1f %12.1f\n", "2 threads (own counters)", off2, on2, on2 - off2);

  const uint64_t n = options.accesses;
  const double tsc = measure(options, [&] { return clock_cost(n, [] { return keel::stats_ticks(); }); });
  const double raw = measure(options, [&] {
    return clock_cost(n, [] {
      timespec ts{};
      clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
      return static_cast<uint64_t>(ts.tv_nsec);
    });
  });
  const double steady = measure(options, [&] {
    return clock_cost(
        n, [] { return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()); });
  });
  std::printf("%-28s %12s\n", "clock read", "ns");
  std::printf("%-28s %12.1f\n", "rdtsc (used)", tsc);
  std::printf("%-28s %12.1f\n", "CLOCK_MONOTONIC_RAW (vDSO)", raw);
  std::printf("%-28s %12.1f\n", "steady_clock", steady);
  const keel::StatsSnapshot snapshot = stats.snapshot();
  if (snapshot.rows.empty() || snapshot.rows[0].exits == 0) {
    std::fprintf(stderr, "bus_bench: statistics counted nothing\n");
    return 1;
  }
  return 0;
}
