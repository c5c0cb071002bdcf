#include "keel/bus.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <chrono>
#include <thread>
#include <vector>

namespace keel {
namespace {

// Records every access and answers reads with a recognisable pattern.
class RecordingDevice final : public BusDevice {
 public:
  struct Access {
    bool is_write;
    uint64_t offset;
    std::vector<std::byte> data;
  };
  void read(uint64_t offset, std::span<std::byte> data) noexcept override {
    for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(0xA0 + i);
    record(false, offset, data);
  }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override { record(true, offset, data); }
  std::vector<Access> accesses() const {
    std::lock_guard guard(lock_);
    return accesses_;
  }

 private:
  void record(bool is_write, uint64_t offset, std::span<const std::byte> data) {
    std::lock_guard guard(lock_);
    accesses_.push_back({is_write, offset, {data.begin(), data.end()}});
  }
  mutable std::mutex lock_;
  std::vector<Access> accesses_;
};

// Counts calls without storing them (for the concurrency test).
class CountingDevice final : public BusDevice {
 public:
  void read(uint64_t, std::span<std::byte> data) noexcept override {
    std::memset(data.data(), 0x5a, data.size());
    calls.fetch_add(1, std::memory_order_relaxed);
  }
  void write(uint64_t, std::span<const std::byte>) noexcept override { calls.fetch_add(1, std::memory_order_relaxed); }
  std::atomic<uint64_t> calls{0};
};

TEST(Bus, RejectsZeroLength) {
  Bus bus("pio");
  auto result = bus.insert(0x100, 0, std::make_shared<RecordingDevice>());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
}

TEST(Bus, RejectsNullDevice) {
  Bus bus("pio");
  EXPECT_FALSE(bus.insert(0x100, 1, nullptr));
}

TEST(Bus, RejectsRangePastTopOfAddressSpace) {
  Bus bus("mmio");
  auto result = bus.insert(UINT64_MAX, 2, std::make_shared<RecordingDevice>());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::overflow);
  EXPECT_FALSE(bus.insert(2, UINT64_MAX, std::make_shared<RecordingDevice>()));
  // [1, 2^64) ends exactly at the top: allowed.
  EXPECT_TRUE(bus.insert(1, UINT64_MAX, std::make_shared<RecordingDevice>()));
}

TEST(Bus, AcceptsRangeEndingExactlyAtTop) {
  Bus bus("mmio");
  auto device = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(UINT64_MAX - 7, 8, device));
  std::array<std::byte, 8> data{};
  EXPECT_TRUE(bus.read(UINT64_MAX - 7, data));
  EXPECT_TRUE(bus.read(UINT64_MAX, std::span(data).first(1)));
  // Wraps past 2^64: not inside the range.
  EXPECT_FALSE(bus.read(UINT64_MAX - 3, data));
  EXPECT_EQ(device->accesses().size(), 2u);
  EXPECT_EQ(device->accesses()[1].offset, 7u);
}

TEST(Bus, RejectsOverlapAtBothEdgesAndInside) {
  Bus bus("pio");
  ASSERT_TRUE(bus.insert(0x100, 0x10, std::make_shared<RecordingDevice>()));  // [0x100, 0x110)
  auto dev = std::make_shared<RecordingDevice>();
  auto low_edge = bus.insert(0xF8, 0x9, dev);   // [0xF8, 0x101): last byte hits 0x100
  ASSERT_FALSE(low_edge);
  EXPECT_EQ(low_edge.error().code, Errc::overlap);
  EXPECT_FALSE(bus.insert(0x10F, 0x10, dev));   // first byte is 0x10F
  EXPECT_FALSE(bus.insert(0x104, 0x2, dev));    // inside
  EXPECT_FALSE(bus.insert(0x0, 0x1000, dev));   // covers it
  EXPECT_FALSE(bus.insert(0x100, 0x10, dev));   // identical
  EXPECT_FALSE(bus.insert(0x100, 0x1, dev));    // same base
}

TEST(Bus, AcceptsAdjacentRanges) {
  Bus bus("pio");
  auto a = std::make_shared<RecordingDevice>();
  auto b = std::make_shared<RecordingDevice>();
  auto c = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(0x100, 0x10, a));
  EXPECT_TRUE(bus.insert(0x110, 0x10, b));  // right after
  EXPECT_TRUE(bus.insert(0xF0, 0x10, c));   // right before
  std::array<std::byte, 1> byte{};
  EXPECT_TRUE(bus.write(0xFF, byte));
  EXPECT_TRUE(bus.write(0x100, byte));
  EXPECT_TRUE(bus.write(0x10F, byte));
  EXPECT_TRUE(bus.write(0x110, byte));
  ASSERT_EQ(c->accesses().size(), 1u);
  EXPECT_EQ(c->accesses()[0].offset, 0xFu);
  ASSERT_EQ(a->accesses().size(), 2u);
  EXPECT_EQ(a->accesses()[0].offset, 0u);
  EXPECT_EQ(a->accesses()[1].offset, 0xFu);
  ASSERT_EQ(b->accesses().size(), 1u);
  EXPECT_EQ(b->accesses()[0].offset, 0u);
}

TEST(Bus, DispatchesWithOffsetAndData) {
  Bus bus("mmio");
  auto device = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(0xFED0'0000, 0x1000, device));
  const std::array<std::byte, 4> value{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  EXPECT_TRUE(bus.write(0xFED0'0010, value));
  std::array<std::byte, 2> out{};
  EXPECT_TRUE(bus.read(0xFED0'0FFE, out));
  EXPECT_EQ(out[0], std::byte{0xA0});
  EXPECT_EQ(out[1], std::byte{0xA1});

  auto accesses = device->accesses();
  ASSERT_EQ(accesses.size(), 2u);
  EXPECT_TRUE(accesses[0].is_write);
  EXPECT_EQ(accesses[0].offset, 0x10u);
  EXPECT_EQ(accesses[0].data, std::vector<std::byte>(value.begin(), value.end()));
  EXPECT_FALSE(accesses[1].is_write);
  EXPECT_EQ(accesses[1].offset, 0xFFEu);
  EXPECT_EQ(accesses[1].data.size(), 2u);
}

TEST(Bus, AccessStraddlingTheEndIsNotDelivered) {
  Bus bus("pio");
  auto device = std::make_shared<RecordingDevice>();
  auto next = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(0x3F8, 8, device));
  ASSERT_TRUE(bus.insert(0x400, 8, next));
  std::array<std::byte, 4> data{};
  EXPECT_FALSE(bus.read(0x3FE, data));  // [0x3FE, 0x402) spans two devices
  EXPECT_FALSE(bus.write(0x3FE, data));
  std::array<std::byte, 2> word{};
  EXPECT_TRUE(bus.read(0x3FE, word));   // [0x3FE, 0x400) fits
  EXPECT_EQ(device->accesses().size(), 1u);
  EXPECT_TRUE(next->accesses().empty());
}

TEST(Bus, StraddlingIntoUnclaimedSpaceIsNotDelivered) {
  Bus bus("pio");
  auto device = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(0x60, 1, device));
  std::array<std::byte, 2> word{};
  EXPECT_FALSE(bus.read(0x60, word));
  EXPECT_FALSE(bus.read(0x5F, word));  // starts before the range
  EXPECT_TRUE(device->accesses().empty());
}

TEST(Bus, UnclaimedReadFillsAllOnes) {
  Bus bus("pio");
  ASSERT_TRUE(bus.insert(0x100, 4, std::make_shared<RecordingDevice>()));
  for (size_t size : {1u, 2u, 4u, 8u}) {
    std::vector<std::byte> data(size, std::byte{0x12});
    EXPECT_FALSE(bus.read(0x200, data));
    for (auto b : data) EXPECT_EQ(b, std::byte{0xff});
    std::vector<std::byte> below(size, std::byte{0x12});
    EXPECT_FALSE(bus.read(0x10, below));
    for (auto b : below) EXPECT_EQ(b, std::byte{0xff});
  }
  std::array<std::byte, 2> data{};
  EXPECT_FALSE(bus.write(0x200, data));
}

TEST(Bus, OddAccessSizesAreUnclaimed) {
  Bus bus("mmio");
  auto device = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(0x1000, 0x100, device));
  for (size_t size : {0u, 3u, 5u, 16u}) {
    std::vector<std::byte> data(size, std::byte{0});
    EXPECT_FALSE(bus.read(0x1000, data));
    for (auto b : data) EXPECT_EQ(b, std::byte{0xff});
    EXPECT_FALSE(bus.write(0x1000, data));
  }
  EXPECT_TRUE(device->accesses().empty());
}

TEST(Bus, RemoveDeletesOnlyTheExactRange) {
  Bus bus("pio");
  auto device = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(0x70, 2, device));
  auto wrong = bus.remove(0x71);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::not_found);
  std::array<std::byte, 1> byte{};
  EXPECT_TRUE(bus.read(0x71, byte));
  ASSERT_TRUE(bus.remove(0x70));
  EXPECT_FALSE(bus.read(0x71, byte));
  EXPECT_EQ(byte[0], std::byte{0xff});
  EXPECT_FALSE(bus.remove(0x70));
  // The freed space can be reused.
  EXPECT_TRUE(bus.insert(0x70, 2, device));
}

TEST(Bus, KeepsName) {
  Bus bus("mmio");
  EXPECT_EQ(bus.name(), "mmio");
}

// Several vCPU-like threads read while another thread inserts and removes
// ranges. Reads of the stable range must always be delivered; reads of the
// churning ranges either reach a device or get all-ones.
TEST(Bus, ConcurrentReadsWhileInserting) {
  Bus bus("mmio");
  auto stable = std::make_shared<CountingDevice>();
  ASSERT_TRUE(bus.insert(0x1000, 0x1000, stable));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0};

  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      uint64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        std::array<std::byte, 4> data{};
        if (!bus.read(0x1000 + (i % 0x400) * 4, data)) bad.fetch_add(1);
        const uint64_t churn = 0x10'0000 + ((i + t) % 64) * 0x1000;
        std::array<std::byte, 4> other{};
        const bool hit = bus.read(churn, other);
        const auto expected = hit ? std::byte{0x5a} : std::byte{0xff};
        for (auto b : other) {
          if (b != expected) bad.fetch_add(1);
        }
        ++i;
      }
    });
  }
  auto churner = std::make_shared<CountingDevice>();
  for (int round = 0; round < 100; ++round) {
    for (uint64_t r = 0; r < 64; ++r) ASSERT_TRUE(bus.insert(0x10'0000 + r * 0x1000, 0x1000, churner));
    for (uint64_t r = 0; r < 64; ++r) ASSERT_TRUE(bus.remove(0x10'0000 + r * 0x1000));
  }
  // On a loaded machine the readers may not have run yet: let them make some
  // progress (bounded) so the assertions below speak about real concurrency.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stable->calls.load() < 1000 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  stop = true;
  for (auto& thread : readers) thread.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(stable->calls.load(), 0u);
}

// A device removed while an access is in flight stays alive until the access
// returns (the bus hands the device a reference, not a raw pointer).
TEST(Bus, DeviceMayRemoveItselfDuringAccess) {
  Bus bus("pio");
  struct SelfRemoving final : BusDevice {
    Bus* bus = nullptr;
    bool removed = false;
    void read(uint64_t, std::span<std::byte> data) noexcept override {
      removed = bus->remove(0x80).has_value();  // would deadlock if the lock were held
      std::memset(data.data(), 0, data.size());
    }
    void write(uint64_t, std::span<const std::byte>) noexcept override {}
  };
  auto device = std::make_shared<SelfRemoving>();
  device->bus = &bus;
  std::weak_ptr<SelfRemoving> weak = device;
  ASSERT_TRUE(bus.insert(0x80, 1, std::move(device)));
  std::array<std::byte, 1> byte{std::byte{0x33}};
  EXPECT_TRUE(bus.read(0x80, byte));
  EXPECT_EQ(byte[0], std::byte{0});
  EXPECT_TRUE(weak.expired());
  EXPECT_FALSE(bus.read(0x80, byte));
}

// A guest hammering an unclaimed port must not turn into a flood of log
// lines: misses are logged, but at most a few per second.
TEST(Bus, MissLoggingIsRateLimited) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("bus-test", sink));
  spdlog::set_level(spdlog::level::debug);
  // Start in a fresh one-second window regardless of earlier tests' misses.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));

  Bus bus("pio");
  std::array<std::byte, 1> byte{};
  for (int i = 0; i < 5000; ++i) (void)bus.read(0x2F8, byte);
  const auto lines = sink->last_formatted();
  spdlog::set_default_logger(previous);

  EXPECT_GE(lines.size(), 1u);
  EXPECT_LE(lines.size(), 21u);  // 20 per second, plus one "N not logged" line
  bool mentions_port = false;
  for (const auto& line : lines) mentions_port |= line.find("0x2f8") != std::string::npos;
  EXPECT_TRUE(mentions_port);
}

}  // namespace
}  // namespace keel
