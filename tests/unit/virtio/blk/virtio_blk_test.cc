#include "virtio/blk/virtio_blk.h"

#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "keel/config_error.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/virtio/blk/fake_driver.h"
#include "tests/unit/virtio/blk/immediate_backend.h"
#include "tests/unit/virtio/blk/temp_image.h"
#include "virtio/blk/disk_image.h"
#include "virtio/blk/uring_backend.h"
#include "virtio/core/virtio_spec.h"

namespace keel::virtio::blk {
namespace {

using testing::DriverBuffer;
using testing::FakeContext;
using testing::FakeDriver;
using testing::ImmediateBackend;
using testing::TempImage;

constexpr uint64_t kDiskSectors = 2048;  // 1 MiB
constexpr uint16_t kQueueSize = 256;
constexpr uint64_t kAllFeatures = feature::kFlush | feature::kDiscard | feature::kWriteZeroes |
                                  feature::kSegMax | feature::kBlkSize;

uint8_t pattern(uint64_t offset) { return static_cast<uint8_t>(offset * 7 + offset / 512); }

// Runs every read / write synchronously but moves at most 512 bytes per
// call, as a short transfer would: the device must carry on with the rest.
class ChunkingBackend final : public BlockBackend {
 public:
  explicit ChunkingBackend(int fd) : fd_(fd), event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~ChunkingBackend() override { ::close(event_fd_); }
  Result<void> read(uint64_t tag, std::span<const iovec> iov, uint64_t offset) noexcept override {
    auto capped = cap(iov);
    return finish(tag, static_cast<int32_t>(preadv(fd_, capped.data(), static_cast<int>(capped.size()),
                                                   static_cast<off_t>(offset))));
  }
  Result<void> write(uint64_t tag, std::span<const iovec> iov, uint64_t offset, bool write_through) noexcept override {
    write_through_calls += write_through ? 1 : 0;
    auto capped = cap(iov);
    return finish(tag, static_cast<int32_t>(pwritev(fd_, capped.data(), static_cast<int>(capped.size()),
                                                    static_cast<off_t>(offset))));
  }
  Result<void> flush(uint64_t tag) noexcept override { return finish(tag, 0); }
  Result<void> discard(uint64_t tag, uint64_t, uint64_t) noexcept override { return finish(tag, 0); }
  Result<void> write_zeroes(uint64_t tag, uint64_t, uint64_t, bool) noexcept override { return finish(tag, 0); }
  Result<void> submit() noexcept override {
    uint64_t one = 1;
    if (!done_.empty()) [[maybe_unused]] ssize_t ignored = ::write(event_fd_, &one, sizeof(one));
    return {};
  }
  int event_fd() const noexcept override { return event_fd_; }
  void reap(std::vector<BackendCompletion>& out) noexcept override {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t ignored = ::read(event_fd_, &count, sizeof(count));
    out.insert(out.end(), done_.begin(), done_.end());
    done_.clear();
  }
  void wait(std::vector<BackendCompletion>& out) noexcept override { reap(out); }
  uint32_t in_flight() const noexcept override { return static_cast<uint32_t>(done_.size()); }
  int calls = 0;
  int write_through_calls = 0;  // writes asked to be durable on completion

 private:
  static std::vector<iovec> cap(std::span<const iovec> iov) {
    std::vector<iovec> capped;
    size_t left = 512;
    for (const iovec& piece : iov) {
      if (left == 0) break;
      size_t take = std::min(left, piece.iov_len);
      capped.push_back({piece.iov_base, take});
      left -= take;
    }
    return capped;
  }
  Result<void> finish(uint64_t tag, int32_t result) noexcept {
    ++calls;
    done_.push_back({tag, result < 0 ? -errno : result});
    return {};
  }
  int fd_;
  int event_fd_;
  std::vector<BackendCompletion> done_;
};

struct Request {
  uint16_t head;
  uint64_t data;    // gpa of the data (or segment) buffer
  uint64_t status;  // gpa of the status byte
};

class VirtioBlkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_uring probe{};
    int error = io_uring_queue_init(4, &probe, 0);
    if (error < 0) GTEST_SKIP() << "io_uring is not available here: " << std::strerror(-error);
    io_uring_queue_exit(&probe);
    std::vector<uint8_t> bytes(kDiskSectors * 512);
    for (uint64_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern(i);
    file.write(0, bytes);
  }

  void open_device(bool readonly = false, uint64_t features = kAllFeatures,
                   std::unique_ptr<BlockBackend> backend = nullptr) {
    if (!backend) {
      backend = UringBackend::create(DiskImage::open({file.path(), readonly, false, "keel-serial-1"}), kQueueSize);
    }
    event_fd = backend->event_fd();
    context.emplace(guest.memory(), features);
    auto created = Virtqueue::create(guest.memory(), driver.config(), {}, kQueueSize);
    ASSERT_TRUE(created.has_value());
    queue.emplace(std::move(*created));
    context->set_queue(&*queue);
    device = std::make_shared<VirtioBlk>(std::move(backend), BlkOptions{kDiskSectors, readonly, "keel-serial-1"},
                                         poller);
    std::lock_guard guard(context->lock());
    ASSERT_TRUE(device->activate(*context));
  }

  void open_device_on(const std::string& path, bool direct) {
    open_device(false, kAllFeatures,
                UringBackend::create(DiskImage::open({path, false, direct, "keel-serial-1"}), kQueueSize));
  }

  // header, optional data (readable or writable), status byte (0xFF until set)
  Request request(uint32_t type, uint64_t sector, uint32_t data_length, bool data_writable, bool publish = true) {
    uint64_t header = driver.alloc(16);
    RequestHeader fields{type, 0, sector};
    std::memcpy(driver.host(header), &fields, sizeof(fields));
    uint64_t data = data_length > 0 ? driver.alloc(data_length) : 0;
    uint64_t status = driver.alloc(1);
    *driver.host(status) = std::byte{0xFF};
    std::vector<DriverBuffer> buffers{{header, 16, false}};
    if (data_length > 0) buffers.push_back({data, data_length, data_writable});
    buffers.push_back({status, 1, true});
    return {driver.add_chain(buffers, publish), data, status};
  }

  Request segment_request(uint32_t type, uint64_t sector, uint32_t sectors, uint32_t flags) {
    Request made = request(type, 0, 16, false, false);
    DiscardWriteZeroesSegment segment{sector, sectors, flags};
    std::memcpy(driver.host(made.data), &segment, sizeof(segment));
    driver.publish();
    return made;
  }

  void kick() {
    std::lock_guard guard(context->lock());
    device->queue_notified(0);
  }

  // Let completions arrive (bounded: no sleeping, a 5 s poll timeout per round).
  void run_until_used(uint16_t count) {
    for (int round = 0; round < 1000 && driver.used_idx() < count; ++round) {
      pollfd ready{event_fd, POLLIN, 0};
      ::poll(&ready, 1, 5000);
      poller.fire(event_fd);
    }
    ASSERT_EQ(driver.used_idx(), count);
  }

  uint8_t status_of(const Request& made) { return static_cast<uint8_t>(*driver.host(made.status)); }

  TempImage file{kDiskSectors * 512};
  keel::testing::TestGuestMemory guest{16 << 20};
  FakeDriver driver{guest, kQueueSize};
  keel::testing::FakeFdPoller poller;
  std::optional<FakeContext> context;
  std::optional<Virtqueue> queue;
  int event_fd = -1;
  std::shared_ptr<VirtioBlk> device;  // last: destroyed first
};

TEST_F(VirtioBlkTest, ReadsSectorsIntoGuestMemory) {
  open_device();
  Request made = request(request_type::kIn, 3, 1024, true);
  kick();
  run_until_used(1);
  auto used = driver.next_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, made.head);
  EXPECT_EQ(used->length, 1025u);  // data + status
  EXPECT_EQ(status_of(made), status::kOk);
  for (uint64_t i = 0; i < 1024; ++i) {
    ASSERT_EQ(static_cast<uint8_t>(*driver.host(made.data + i)), pattern(3 * 512 + i)) << i;
  }
  EXPECT_GE(context->signals, 1);
}

TEST_F(VirtioBlkTest, WritesGuestDataToTheFile) {
  open_device();
  Request made = request(request_type::kOut, 10, 512, false, false);
  std::memset(driver.host(made.data), 0xAB, 512);
  driver.publish();
  kick();
  run_until_used(1);
  EXPECT_EQ(driver.next_used()->length, 1u);
  EXPECT_EQ(status_of(made), status::kOk);
  EXPECT_EQ(file.read(10 * 512, 512), std::vector<uint8_t>(512, 0xAB));
  EXPECT_EQ(file.read(11 * 512, 1)[0], pattern(11 * 512));
}

// The io_uring path of a write-through write (RWF_DSYNC) lands the data too.
TEST_F(VirtioBlkTest, WriteThroughWritesReachTheFile) {
  open_device(false, kAllFeatures & ~feature::kFlush);
  Request made = request(request_type::kOut, 12, 1024, false, false);
  std::memset(driver.host(made.data), 0xCD, 1024);
  driver.publish();
  kick();
  run_until_used(1);
  EXPECT_EQ(status_of(made), status::kOk);
  EXPECT_EQ(file.read(12 * 512, 1024), std::vector<uint8_t>(1024, 0xCD));
}

TEST_F(VirtioBlkTest, FlushCompletesOk) {
  open_device();
  Request made = request(request_type::kFlush, 0, 0, false);
  kick();
  run_until_used(1);
  EXPECT_EQ(status_of(made), status::kOk);
}

TEST_F(VirtioBlkTest, FlushCompletesAfterTheWritesBeforeIt) {
  open_device();
  std::vector<Request> writes;
  for (int i = 0; i < 8; ++i) {
    Request made = request(request_type::kOut, 64 * i, 32 * 1024, false, false);
    std::memset(driver.host(made.data), 0x77, 32 * 1024);
    writes.push_back(made);
  }
  Request flush = request(request_type::kFlush, 0, 0, false, false);
  driver.publish();
  kick();
  run_until_used(9);
  // The flush is drained behind every write submitted before it.
  for (int i = 0; i < 8; ++i) EXPECT_NE(driver.next_used()->id, flush.head);
  EXPECT_EQ(driver.next_used()->id, flush.head);
  EXPECT_EQ(status_of(flush), status::kOk);
}

TEST_F(VirtioBlkTest, NotificationsAreOnAgainAfterDraining) {
  open_device();
  request(request_type::kFlush, 0, 0, false);
  kick();
  run_until_used(1);
  uint16_t used_flags = 0;
  std::memcpy(&used_flags, driver.host(FakeDriver::kUsedRing), sizeof(used_flags));
  EXPECT_EQ(used_flags & ring::kUsedFlagNoNotify, 0);
}

TEST_F(VirtioBlkTest, GetIdReturnsTheZeroPaddedSerial) {
  open_device();
  Request made = request(request_type::kGetId, 0, 20, true, false);
  std::memset(driver.host(made.data), 0x55, 20);
  driver.publish();
  kick();
  // Answered synchronously: no I/O behind it.
  EXPECT_EQ(driver.used_idx(), 1);
  EXPECT_EQ(driver.next_used()->length, 21u);
  EXPECT_EQ(status_of(made), status::kOk);
  char id[20];
  std::memcpy(id, driver.host(made.data), 20);
  EXPECT_EQ(std::string(id, 13), "keel-serial-1");
  for (int i = 13; i < 20; ++i) EXPECT_EQ(id[i], 0);
}

TEST_F(VirtioBlkTest, DiscardMakesTheRangeReadZero) {
  open_device();
  Request made = segment_request(request_type::kDiscard, 8, 16, 0);
  kick();
  run_until_used(1);
  EXPECT_EQ(status_of(made), status::kOk);
  EXPECT_EQ(file.read(8 * 512, 16 * 512), std::vector<uint8_t>(16 * 512, 0));
  EXPECT_EQ(file.read(24 * 512, 1)[0], pattern(24 * 512));
}

TEST_F(VirtioBlkTest, WriteZeroesWithAndWithoutUnmap) {
  open_device();
  Request keep = segment_request(request_type::kWriteZeroes, 1, 3, 0);
  Request unmap = segment_request(request_type::kWriteZeroes, 100, 9, kSegmentFlagUnmap);
  kick();
  run_until_used(2);
  EXPECT_EQ(status_of(keep), status::kOk);
  EXPECT_EQ(status_of(unmap), status::kOk);
  EXPECT_EQ(file.read(512, 3 * 512), std::vector<uint8_t>(3 * 512, 0));
  EXPECT_EQ(file.read(100 * 512, 9 * 512), std::vector<uint8_t>(9 * 512, 0));
  EXPECT_EQ(file.read(0, 1)[0], pattern(0));
  EXPECT_EQ(file.read(4 * 512, 1)[0], pattern(4 * 512));
  EXPECT_EQ(file.read(109 * 512, 1)[0], pattern(109 * 512));
}

TEST_F(VirtioBlkTest, SegmentRulesOfTheSpec) {
  open_device();
  Request discard_unmap = segment_request(request_type::kDiscard, 0, 1, kSegmentFlagUnmap);
  Request unknown_flag = segment_request(request_type::kWriteZeroes, 0, 1, 2);
  Request too_long = segment_request(request_type::kDiscard, kDiskSectors - 1, 2, 0);
  Request too_many = segment_request(request_type::kWriteZeroes, 0, VirtioBlk::kMaxWriteZeroesSectors + 1, 0);
  kick();
  EXPECT_EQ(driver.used_idx(), 4);  // all refused up front
  EXPECT_EQ(context->signals, 1);   // one interrupt for the batch
  EXPECT_EQ(status_of(discard_unmap), status::kUnsupp);
  EXPECT_EQ(status_of(unknown_flag), status::kUnsupp);
  EXPECT_EQ(status_of(too_long), status::kIoErr);
  EXPECT_EQ(status_of(too_many), status::kIoErr);
  EXPECT_EQ(file.read(0, 1)[0], pattern(0));
}

TEST_F(VirtioBlkTest, DiscardWithoutTheFeatureIsUnsupported) {
  open_device(false, feature::kFlush);
  Request made = segment_request(request_type::kDiscard, 0, 1, 0);
  kick();
  EXPECT_EQ(status_of(made), status::kUnsupp);
}

TEST_F(VirtioBlkTest, UnknownTypeIsUnsupported) {
  open_device();
  Request made = request(99, 0, 512, true);
  kick();
  EXPECT_EQ(driver.used_idx(), 1);
  EXPECT_EQ(status_of(made), status::kUnsupp);
  EXPECT_EQ(driver.next_used()->length, 1u);
}

TEST_F(VirtioBlkTest, OutOfRangeSectorsAreIoErrors) {
  open_device();
  Request past_end = request(request_type::kIn, kDiskSectors, 512, true);
  Request straddling = request(request_type::kOut, kDiskSectors - 1, 1024, false);
  Request wrapping = request(request_type::kIn, UINT64_MAX, 512, true);
  Request last = request(request_type::kIn, kDiskSectors - 1, 512, true);
  kick();
  run_until_used(4);
  EXPECT_EQ(status_of(past_end), status::kIoErr);
  EXPECT_EQ(status_of(straddling), status::kIoErr);
  EXPECT_EQ(status_of(wrapping), status::kIoErr);
  EXPECT_EQ(status_of(last), status::kOk);
}

TEST_F(VirtioBlkTest, DataNotAMultipleOf512IsAnIoError) {
  open_device();
  Request read = request(request_type::kIn, 0, 100, true);
  Request write = request(request_type::kOut, 0, 513, false);
  kick();
  EXPECT_EQ(driver.used_idx(), 2);
  EXPECT_EQ(status_of(read), status::kIoErr);
  EXPECT_EQ(status_of(write), status::kIoErr);
  EXPECT_EQ(file.read(0, 1)[0], pattern(0));
}

TEST_F(VirtioBlkTest, ReadOnlyDeviceRefusesWrites) {
  open_device(true);
  EXPECT_NE(device->device_features() & feature::kRo, 0u);
  EXPECT_EQ(device->device_features() & (feature::kDiscard | feature::kWriteZeroes), 0u);
  Request write = request(request_type::kOut, 0, 512, false, false);
  std::memset(driver.host(write.data), 0xEE, 512);
  driver.publish();
  Request discard = segment_request(request_type::kDiscard, 0, 1, 0);
  Request zeroes = segment_request(request_type::kWriteZeroes, 0, 1, 0);
  Request read = request(request_type::kIn, 0, 512, true);
  kick();
  run_until_used(4);
  EXPECT_EQ(status_of(write), status::kIoErr);
  EXPECT_EQ(status_of(discard), status::kIoErr);
  EXPECT_EQ(status_of(zeroes), status::kIoErr);
  EXPECT_EQ(status_of(read), status::kOk);
  EXPECT_EQ(file.read(0, 1)[0], pattern(0));
}

TEST_F(VirtioBlkTest, MalformedChainsAreReturnedUnexecuted) {
  open_device();
  // No writable byte at all: nowhere to put a status.
  uint64_t header = driver.alloc(16);
  RequestHeader fields{request_type::kOut, 0, 0};
  std::memcpy(driver.host(header), &fields, sizeof(fields));
  uint64_t data = driver.alloc(512);
  std::memset(driver.host(data), 0xCD, 512);
  uint16_t no_status = driver.add_chain({{header, 16, false}, {data, 512, false}});
  // A header of 8 bytes.
  uint64_t status = driver.alloc(1);
  *driver.host(status) = std::byte{0xFF};
  uint16_t short_header = driver.add_chain({{header, 8, false}, {status, 1, true}});
  kick();
  ASSERT_EQ(driver.used_idx(), 2);
  auto first = driver.next_used();
  auto second = driver.next_used();
  EXPECT_EQ(first->id, no_status);
  EXPECT_EQ(first->length, 0u);
  EXPECT_EQ(second->id, short_header);
  EXPECT_EQ(second->length, 0u);
  EXPECT_EQ(*driver.host(status), std::byte{0xFF});
  EXPECT_EQ(file.read(0, 1)[0], pattern(0));
  EXPECT_TRUE(context->resets.empty());
}

TEST_F(VirtioBlkTest, ManyRequestsInFlightInOneBatch) {
  open_device();
  // Three descriptors each: 80 chains use 240 of the 256.
  constexpr int kReads = 40;
  constexpr int kWrites = 40;
  std::vector<Request> reads;
  std::vector<Request> writes;
  for (int i = 0; i < kReads; ++i) reads.push_back(request(request_type::kIn, 2 * i, 1024, true, false));
  for (int i = 0; i < kWrites; ++i) {
    Request made = request(request_type::kOut, 1024 + i, 512, false, false);
    std::memset(driver.host(made.data), i + 1, 512);
    writes.push_back(made);
  }
  driver.publish();
  kick();
  // All were handed to the backend before any completion was reaped.
  EXPECT_EQ(device->requests_in_flight() + driver.used_idx(), size_t{kReads + kWrites});
  run_until_used(kReads + kWrites);
  EXPECT_EQ(device->requests_in_flight(), 0u);
  for (int i = 0; i < kReads; ++i) {
    EXPECT_EQ(status_of(reads[i]), status::kOk);
    EXPECT_EQ(static_cast<uint8_t>(*driver.host(reads[i].data + 700)), pattern(2 * i * 512 + 700));
  }
  for (int i = 0; i < kWrites; ++i) {
    EXPECT_EQ(status_of(writes[i]), status::kOk);
    EXPECT_EQ(file.read((1024 + i) * 512, 512), std::vector<uint8_t>(512, static_cast<uint8_t>(i + 1)));
  }
  EXPECT_LE(context->signals, kReads + kWrites);
}

TEST_F(VirtioBlkTest, BackendErrorsBecomeIoErr) {
  open_device(false, kAllFeatures, std::make_unique<ImmediateBackend>(-EIO));  // a dying disk
  Request read = request(request_type::kIn, 0, 512, true);
  Request write = request(request_type::kOut, 0, 512, false);
  Request flush = request(request_type::kFlush, 0, 0, false);
  Request zeroes = segment_request(request_type::kWriteZeroes, 0, 1, 0);
  kick();
  run_until_used(4);
  for (const Request& made : {read, write, flush, zeroes}) EXPECT_EQ(status_of(made), status::kIoErr);
  auto used = driver.next_used();
  EXPECT_EQ(used->length, 1u);  // a failed read wrote no data
}

TEST_F(VirtioBlkTest, ShortTransfersAreContinued) {
  DiskImage image = DiskImage::open({file.path(), false, false, ""});
  auto backend = std::make_unique<ChunkingBackend>(image.fd());
  ChunkingBackend& chunking = *backend;
  open_device(false, kAllFeatures, std::move(backend));
  // A read of 2048 bytes into two buffers of 700 and 1348 bytes: the
  // 512-byte steps cross the buffer boundary mid-way.
  uint64_t header = driver.alloc(16);
  RequestHeader in{request_type::kIn, 0, 5};
  std::memcpy(driver.host(header), &in, sizeof(in));
  uint64_t first = driver.alloc(700);
  uint64_t second = driver.alloc(1348);
  uint64_t status = driver.alloc(1);
  driver.add_chain({{header, 16, false}, {first, 700, true}, {second, 1348, true}, {status, 1, true}});
  kick();
  run_until_used(1);
  EXPECT_EQ(chunking.calls, 4);
  EXPECT_EQ(*driver.host(status), std::byte{status::kOk});
  EXPECT_EQ(driver.next_used()->length, 2049u);
  for (uint64_t i = 0; i < 2048; ++i) {
    uint64_t gpa = i < 700 ? first + i : second + (i - 700);
    ASSERT_EQ(static_cast<uint8_t>(*driver.host(gpa)), pattern(5 * 512 + i)) << i;
  }
  // And a write of 1024 bytes from the same two-buffer shape.
  RequestHeader out{request_type::kOut, 0, 20};
  uint64_t out_header = driver.alloc(16);
  std::memcpy(driver.host(out_header), &out, sizeof(out));
  std::memset(driver.host(first), 0x11, 700);
  std::memset(driver.host(second), 0x22, 324);
  driver.add_chain({{out_header, 16, false}, {first, 700, false}, {second, 324, false}, {status, 1, true}});
  kick();
  run_until_used(2);
  EXPECT_EQ(chunking.calls, 6);
  std::vector<uint8_t> expected(1024, 0x11);
  std::fill(expected.begin() + 700, expected.end(), 0x22);
  EXPECT_EQ(file.read(20 * 512, 1024), expected);
}

// A driver that did not negotiate FLUSH assumes a write-through device
// (Linux: virtblk_get_cache_mode): each write must be durable when it
// completes. With FLUSH negotiated, durability waits for the FLUSH.
class VirtioBlkWriteCacheTest : public VirtioBlkTest {
 protected:
  // Writes one sector with `features` negotiated; how many backend writes
  // were asked to be write-through.
  int write_through_writes(uint64_t features) {
    DiskImage image = DiskImage::open({file.path(), false, false, ""});
    auto backend = std::make_unique<ChunkingBackend>(image.fd());
    ChunkingBackend& chunking = *backend;
    open_device(false, features, std::move(backend));
    Request made = request(request_type::kOut, 3, 512, false);
    kick();
    run_until_used(1);
    EXPECT_EQ(status_of(made), status::kOk);
    return chunking.write_through_calls;
  }
};

TEST_F(VirtioBlkWriteCacheTest, WritesAreWriteThroughWithoutFlush) {
  EXPECT_EQ(write_through_writes(kAllFeatures & ~feature::kFlush), 1);
}

TEST_F(VirtioBlkWriteCacheTest, WritesAreWriteBackWithFlush) { EXPECT_EQ(write_through_writes(kAllFeatures), 0); }

TEST_F(VirtioBlkTest, WriteZeroesFallsBackWhenZeroRangeIsUnsupported) {
  // tmpfs punches holes but has no FALLOC_FL_ZERO_RANGE: without the unmap
  // flag the backend must fall back to writing zeroes.
  if (access("/dev/shm", W_OK) != 0) GTEST_SKIP() << "no writable /dev/shm (tmpfs)";
  TempImage shm(kDiskSectors * 512, "/dev/shm");
  shm.write(0, std::vector<uint8_t>(kDiskSectors * 512, 0x5A));
  open_device_on(shm.path(), false);
  Request keep = segment_request(request_type::kWriteZeroes, 2, 70, 0);  // 35 KiB
  Request unmap = segment_request(request_type::kWriteZeroes, 200, 8, kSegmentFlagUnmap);
  kick();
  run_until_used(2);
  EXPECT_EQ(status_of(keep), status::kOk);
  EXPECT_EQ(status_of(unmap), status::kOk);
  EXPECT_EQ(shm.read(2 * 512, 70 * 512), std::vector<uint8_t>(70 * 512, 0));
  EXPECT_EQ(shm.read(200 * 512, 8 * 512), std::vector<uint8_t>(8 * 512, 0));
  EXPECT_EQ(shm.read(72 * 512, 1)[0], 0x5A);
  EXPECT_EQ(shm.read(0, 1)[0], 0x5A);
}

TEST_F(VirtioBlkTest, AnImageThatShrankGivesIoErr) {
  open_device();
  // Someone truncates the image under the running VM: the kernel's readv
  // returns 0 bytes (end of file) for what used to be inside the disk.
  ASSERT_EQ(truncate(file.path().c_str(), 1024 * 512), 0);
  Request beyond = request(request_type::kIn, 1500, 512, true);
  Request straddling = request(request_type::kIn, 1023, 1024, true);
  kick();
  run_until_used(2);
  EXPECT_EQ(status_of(beyond), status::kIoErr);
  EXPECT_EQ(status_of(straddling), status::kIoErr);
  EXPECT_EQ(driver.next_used()->length, 1u);
}

TEST_F(VirtioBlkTest, ResetWaitsForInFlightIoAndDropsIt) {
  open_device();
  std::vector<Request> reads;
  for (int i = 0; i < 16; ++i) reads.push_back(request(request_type::kIn, i, 512, true, false));
  driver.publish();
  kick();
  {
    std::lock_guard guard(context->lock());
    device->reset();
  }
  EXPECT_EQ(device->requests_in_flight(), 0u);
  poller.fire(event_fd);  // a late wake-up finds nothing to do
  EXPECT_EQ(driver.used_idx(), 0);
  for (const Request& made : reads) EXPECT_EQ(status_of(made), 0xFF);
}

TEST_F(VirtioBlkTest, ABrokenAvailIndexAsksForReset) {
  open_device();
  driver.set_avail_idx(kQueueSize + 5);  // more than a queue's worth ahead
  kick();
  ASSERT_EQ(context->resets.size(), 1u);
  // Further doorbells are ignored until reset.
  kick();
  EXPECT_EQ(context->resets.size(), 1u);
}

TEST_F(VirtioBlkTest, ConfigLayoutFollowsTheSpec) {
  open_device();
  auto read_u32 = [&](uint32_t offset) {
    uint32_t value = 0;
    device->config_read(offset, std::as_writable_bytes(std::span(&value, 1)));
    return value;
  };
  uint64_t capacity = 0;
  device->config_read(0, std::as_writable_bytes(std::span(&capacity, 1)));
  EXPECT_EQ(capacity, kDiskSectors);
  EXPECT_EQ(read_u32(12), kQueueSize - 2u);  // seg_max
  EXPECT_EQ(read_u32(20), 512u);             // blk_size
  EXPECT_EQ(read_u32(36), VirtioBlk::kMaxDiscardSectors);
  EXPECT_EQ(read_u32(40), 1u);  // max_discard_seg
  EXPECT_EQ(read_u32(48), VirtioBlk::kMaxWriteZeroesSectors);
  EXPECT_EQ(read_u32(52), 1u);  // max_write_zeroes_seg
  EXPECT_EQ(read_u32(56) & 0xFF, 1u);  // write_zeroes_may_unmap
  EXPECT_EQ(read_u32(72), 0u);         // past the end reads zero
  EXPECT_EQ(read_u32(0xFFFFFFFE), 0u);  // no wrap-around
  EXPECT_EQ(device->device_type(), kDeviceTypeBlock);
  EXPECT_EQ(device->queue_count(), 1);
}

TEST(VirtioBlkOpen, OpensAnImageAndRegistersTheRing) {
  io_uring probe{};
  int error = io_uring_queue_init(4, &probe, 0);
  if (error < 0) GTEST_SKIP() << "io_uring is not available here: " << std::strerror(-error);
  io_uring_queue_exit(&probe);
  TempImage file(4096);
  keel::testing::FakeFdPoller poller;
  {
    auto device = VirtioBlk::open({file.path(), false, false, "s"}, poller);
    EXPECT_EQ(poller.size(), 1u);
    uint64_t capacity = 0;
    device->config_read(0, std::as_writable_bytes(std::span(&capacity, 1)));
    EXPECT_EQ(capacity, 8u);
  }
  EXPECT_EQ(poller.size(), 0u);
  EXPECT_THROW(VirtioBlk::open({"/nonexistent/x.img", false, false, ""}, poller), ConfigError);
}

}  // namespace
}  // namespace keel::virtio::blk
