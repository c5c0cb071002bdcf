// virtio-blk under a hostile or demanding driver (issue 9, bounded work):
// the per-wake-up chain budget, the advertised seg_max / size_max, the cap
// on bytes in flight, a reset that cancels instead of waiting, and no
// allocation per request, however hostile.
#include <atomic>
#include <cstdlib>
#include <new>

#include <spdlog/spdlog.h>

#include "tests/unit/virtio/blk/virtio_blk_fixture.h"

// Counts allocations made by this test binary while `g_counting` is set
// (replacing the global operator new is the only way to see them).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

// GCC sees free() of what operator new returned; here that is the pairing.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, size_t) noexcept { std::free(memory); }
#pragma GCC diagnostic pop

namespace keel::virtio::blk {
namespace {

constexpr uint16_t kBudget = 128;  // VirtioBlk::kChainBudget
constexpr uint32_t kSegment = 128 * 1024;  // VirtioBlk::kSizeMax

// A driver that keeps avail.idx a whole queue ahead with requests answered
// at once (here: the same unknown-type chain, offered 256 times) used to
// keep the loop thread in queue_notified() for as long as it liked.
TEST_F(VirtioBlkTest, AWakeUpServesAtMostABudgetOfChains) {
  open_device(false, kAllFeatures, std::make_unique<ImmediateBackend>());
  Request made = request(99, 0, 0, false);
  for (int i = 1; i < kQueueSize; ++i) driver.make_available(made.head);
  kick();
  EXPECT_EQ(driver.used_idx(), kBudget);
  EXPECT_EQ(context->reschedules, 1);  // come back after the loop served the others
  EXPECT_EQ(status_of(made), status::kUnsupp);
  kick();  // what reschedule() leads to
  EXPECT_EQ(driver.used_idx(), kQueueSize);
  // The budget ran out again on the last chain, before the ring could be
  // seen empty: one more (empty) round.
  EXPECT_EQ(context->reschedules, 2);
  kick();
  EXPECT_EQ(context->reschedules, 2);  // drained: no more
  uint16_t used_flags = 0;
  std::memcpy(&used_flags, driver.host(FakeDriver::kUsedRing), sizeof(used_flags));
  EXPECT_EQ(used_flags, 0);  // notifications back on after draining
  EXPECT_TRUE(context->resets.empty());
}

TEST_F(VirtioBlkTest, ASegmentLargerThanSizeMaxIsAnIoError) {
  open_device();
  Request fits = request(request_type::kIn, 0, kSegment, true);
  Request too_large = request(request_type::kIn, 0, kSegment + 512, true);
  kick();
  run_until_used(2);
  EXPECT_EQ(status_of(fits), status::kOk);
  EXPECT_EQ(status_of(too_large), status::kIoErr);
  EXPECT_EQ(file.read(0, 1)[0], pattern(0));
}

// 255 data segments: header + 254 buffers + one holding the last data
// sector and the status byte, 256 descriptors in all.
TEST_F(VirtioBlkTest, MoreSegmentsThanSegMaxIsAnIoError) {
  open_device();
  const auto read_with_segments = [&](int segments) {
    uint64_t header = driver.alloc(16);
    RequestHeader in{request_type::kIn, 0, 0};
    std::memcpy(driver.host(header), &in, sizeof(in));
    uint64_t data = driver.alloc(512ull * segments + 1);
    std::vector<DriverBuffer> buffers{{header, 16, false}};
    for (int i = 0; i < segments; ++i) buffers.push_back({data + 512ull * i, i + 1 == segments ? 513u : 512u, true});
    driver.add_chain(buffers);
    return data + 512ull * segments;  // the status byte
  };
  uint64_t status = read_with_segments(255);
  kick();
  run_until_used(1);
  EXPECT_EQ(*driver.host(status), std::byte{status::kIoErr});
  status = read_with_segments(254);  // exactly seg_max
  kick();
  run_until_used(2);
  EXPECT_EQ(*driver.host(status), std::byte{status::kOk});
}

// 8 requests of 8 MiB each (the same chain, offered 8 times): 64 MiB of
// reads. Only as many start as leave room for one more request of the
// largest size under the 64 MiB cap; the rest wait in the ring and start
// from the completion handler as room is made.
TEST_F(VirtioBlkTest, BytesInFlightAreCapped) {
  capacity_sectors = 1 << 20;  // 512 MiB: HoldingBackend reads nothing
  auto backend = std::make_unique<HoldingBackend>();
  HoldingBackend& disk = *backend;
  open_device(false, kAllFeatures, std::move(backend));
  constexpr int kSegments = 64;
  uint64_t header = driver.alloc(16);
  RequestHeader in{request_type::kIn, 0, 0};
  std::memcpy(driver.host(header), &in, sizeof(in));
  uint64_t data = driver.alloc(uint64_t{kSegment} * kSegments);
  uint64_t status = driver.alloc(1);
  std::vector<DriverBuffer> buffers{{header, 16, false}};
  for (int i = 0; i < kSegments; ++i) buffers.push_back({data + uint64_t{kSegment} * i, kSegment, true});
  buffers.push_back({status, 1, true});
  uint16_t head = driver.add_chain(buffers);
  for (int i = 1; i < 8; ++i) driver.make_available(head);
  kick();
  const size_t started = device->requests_in_flight();
  EXPECT_GE(started, 1u);
  EXPECT_LT(started, 8u);
  EXPECT_LE(started * kSegment * kSegments, size_t{64} << 20);
  EXPECT_EQ(queue->last_avail_idx(), started);  // the rest were not popped
  for (int round = 0; round < 16 && driver.used_idx() < 8; ++round) {
    disk.finish_all();
    poller.fire(event_fd);
  }
  EXPECT_EQ(driver.used_idx(), 8);
  EXPECT_EQ(*driver.host(status), std::byte{status::kOk});
  EXPECT_EQ(device->requests_in_flight(), 0u);
}

// A cap below the largest request still lets one request run at a time.
TEST_F(VirtioBlkTest, ATinyCapRunsOneRequestAtATime) {
  max_bytes_in_flight = 1;
  auto backend = std::make_unique<HoldingBackend>();
  HoldingBackend& disk = *backend;
  open_device(false, kAllFeatures, std::move(backend));
  for (int i = 0; i < 4; ++i) request(request_type::kIn, i, 4096, true, false);
  driver.publish();
  kick();
  EXPECT_EQ(device->requests_in_flight(), 1u);
  EXPECT_EQ(device->bytes_in_flight(), 4096u);
  for (uint16_t done = 1; done <= 4; ++done) {
    disk.finish_all();
    poller.fire(event_fd);
    EXPECT_EQ(driver.used_idx(), done);
    EXPECT_EQ(disk.held(), done < 4 ? 1u : 0u);
  }
}

// Reset used to wait, under the device lock (and, through PCI_CFG, the host
// bridge's), for each operation to run to its end.
TEST_F(VirtioBlkTest, ResetCancelsInFlightIoInsteadOfWaitingForIt) {
  auto backend = std::make_unique<HoldingBackend>();
  HoldingBackend& disk = *backend;
  open_device(false, kAllFeatures, std::move(backend));
  std::vector<Request> reads;
  for (int i = 0; i < 16; ++i) reads.push_back(request(request_type::kIn, i, 512, true, false));
  driver.publish();
  kick();
  ASSERT_EQ(disk.held(), 16u);
  {
    std::lock_guard guard(context->lock());
    EXPECT_TRUE(device->reset());  // everything was cancelled: done at once
  }
  EXPECT_EQ(disk.cancels, 1);
  EXPECT_EQ(disk.finished_by_waiting, 0);
  EXPECT_EQ(device->requests_in_flight(), 0u);
  EXPECT_EQ(device->bytes_in_flight(), 0u);
  poller.fire(event_fd);  // a late wake-up finds nothing to do
  EXPECT_EQ(driver.used_idx(), 0);
  for (const Request& made : reads) EXPECT_EQ(status_of(made), 0xFF);
}

// The real io_uring: reset cancels what it can, the rest finishes on the
// event loop, and nothing is left in flight.
TEST_F(VirtioBlkTest, ResetOnTheUringBackendLeavesNothingInFlight) {
  open_device();
  for (int i = 0; i < 32; ++i) request(request_type::kIn, i, 4096, true, false);
  segment_request(request_type::kWriteZeroes, 100, 8, 0);
  kick();
  reset_and_settle();
  EXPECT_EQ(device->requests_in_flight(), 0u);
  poller.fire(event_fd);
  EXPECT_EQ(driver.used_idx(), 0);
}

// Per request, the device allocates nothing: the in-flight slots and
// iovecs are made by the constructor, and every chain is popped into one
// scratch chain reserved for seg_max + 2 buffers (Virtqueue::pop() used to
// build two vectors per request, which could throw std::bad_alloc inside
// noexcept). Counted: a whole batch through the device on io_uring.
TEST_F(VirtioBlkTest, RequestsAllocateNothing) {
  open_device();
  constexpr int kRequests = 32;
  const auto batch = [&](uint64_t first_sector) {
    for (int i = 0; i < kRequests; ++i) request(request_type::kIn, first_sector + i, 2048, true, false);
    driver.publish();
  };
  batch(0);  // warm-up: first use of anything lazily grown
  kick();
  run_until_used(kRequests);
  batch(64);
  g_allocations = 0;
  g_counting = true;
  kick();
  for (int round = 0; round < 1000 && driver.used_idx() < 2 * kRequests; ++round) {
    pollfd ready{event_fd, POLLIN, 0};
    ::poll(&ready, 1, 5000);
    device->on_completions();
  }
  g_counting = false;
  ASSERT_EQ(driver.used_idx(), 2 * kRequests);
  EXPECT_EQ(g_allocations.load(), 0);
}

// A flood of requests answered at once -- unknown types, GET_ID, no status
// byte, a segment over size_max, a chain of 200 one-byte buffers -- offered
// again and again, 20,000 chains in all: the device allocates nothing,
// however many doorbells. (Logging is off here: the device's warnings are
// rate-limited, and spdlog's own buffers are not the device's.)
TEST_F(VirtioBlkTest, AFloodOfHostileRequestsAllocatesNothing) {
  open_device();
  std::vector<uint16_t> heads;
  heads.push_back(request(99, 0, 0, false, false).head);                           // unknown type
  heads.push_back(request(request_type::kGetId, 0, 20, true, false).head);         // answered at once
  heads.push_back(request(request_type::kIn, 0, kSegment + 512, true, false).head);  // over size_max
  {
    uint64_t header = driver.alloc(16);
    heads.push_back(driver.add_chain({{header, 16, false}}, false));  // no status byte: malformed
  }
  {
    // Header + 199 one-byte writable buffers, each a GuestBuffer of its own
    // (the other chains take 10 of the ring's 256 descriptors).
    uint64_t header = driver.alloc(16);
    RequestHeader in{request_type::kGetId, 0, 0};
    std::memcpy(driver.host(header), &in, sizeof(in));
    uint64_t data = driver.alloc(199);
    std::vector<DriverBuffer> buffers{{header, 16, false}};
    for (uint32_t i = 0; i < 199; ++i) buffers.push_back({data + i, 1, true});
    heads.push_back(driver.add_chain(buffers, false));
  }
  driver.publish();
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  kick();
  run_until_used(static_cast<uint16_t>(heads.size()));
  uint64_t served = heads.size();
  long allocations = 0;
  for (int round = 0; served < 20000; ++round) {
    for (int i = 0; i < kBudget; ++i) driver.make_available(heads[(round + i) % heads.size()]);
    g_allocations = 0;
    g_counting = true;
    kick();  // at most a budget of chains per wake-up
    g_counting = false;
    allocations += g_allocations.load();
    served += kBudget;
    ASSERT_EQ(driver.used_idx(), static_cast<uint16_t>(served));
  }
  spdlog::set_level(level);
  EXPECT_EQ(allocations, 0);
  EXPECT_TRUE(context->resets.empty());
  EXPECT_EQ(device->requests_in_flight(), 0u);
}

// A chain with more buffers than seg_max + 2, which only an indirect table
// can carry (the ring bounds a direct chain by its size): a broken driver.
// DEVICE_NEEDS_RESET, and the scratch chain is not grown for it.
TEST_F(VirtioBlkTest, AChainLongerThanSegMaxAllowsIsRefusedWithoutAllocating) {
  open_device();
  auto indirect = Virtqueue::create(guest.memory(), driver.config(), {.indirect = true}, kQueueSize);
  ASSERT_TRUE(indirect.has_value());
  queue.emplace(std::move(*indirect));
  context->set_queue(&*queue);
  constexpr uint32_t kEntries = 4096;  // header + 4094 data buffers + status
  const uint64_t header = driver.alloc(16);
  RequestHeader in{request_type::kIn, 0, 0};
  std::memcpy(driver.host(header), &in, sizeof(in));
  const uint64_t data = driver.alloc(512ull * kEntries);
  const uint64_t table = driver.alloc(16ull * kEntries);
  for (uint32_t i = 0; i < kEntries; ++i) {
    const uint64_t address = i == 0 ? header : data + 512ull * i;
    const uint32_t length = i == 0 ? 16 : (i + 1 == kEntries ? 1 : 512);
    const uint16_t flags = static_cast<uint16_t>((i + 1 == kEntries ? 0 : 1) | (i == 0 ? 0 : 2));  // NEXT, WRITE
    const uint16_t next = static_cast<uint16_t>(i + 1);
    std::byte* entry = driver.host(table + 16ull * i);
    std::memcpy(entry, &address, 8);
    std::memcpy(entry + 8, &length, 4);
    std::memcpy(entry + 12, &flags, 2);
    std::memcpy(entry + 14, &next, 2);
  }
  // One direct descriptor, INDIRECT (4), pointing at the table.
  const uint16_t head = driver.add_chain({{table, 16 * kEntries, false}}, false);
  const uint16_t indirect_flag = 4;
  std::memcpy(driver.host(FakeDriver::kDescTable + 16ull * head + 12), &indirect_flag, 2);
  driver.publish();
  context->resets.reserve(1);  // the fake context's own record is not the device's
  g_allocations = 0;
  g_counting = true;
  kick();
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  ASSERT_EQ(context->resets.size(), 1u);
  EXPECT_EQ(driver.used_idx(), 0);
  EXPECT_EQ(device->requests_in_flight(), 0u);
}

}  // namespace
}  // namespace keel::virtio::blk
