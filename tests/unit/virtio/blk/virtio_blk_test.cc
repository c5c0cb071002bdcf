#include "tests/unit/virtio/blk/virtio_blk_fixture.h"

#include <cstring>

namespace keel::virtio::blk {
namespace {

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

// On the real io_uring: what reset could not cancel finishes on the event
// loop, and its results are dropped.
TEST_F(VirtioBlkTest, ResetDropsInFlightIo) {
  open_device();
  std::vector<Request> reads;
  for (int i = 0; i < 16; ++i) reads.push_back(request(request_type::kIn, i, 512, true, false));
  driver.publish();
  kick();
  reset_and_settle();
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
  EXPECT_EQ(read_u32(8), VirtioBlk::kSizeMax);  // size_max
  EXPECT_NE(device->device_features() & feature::kSizeMax, 0u);
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
