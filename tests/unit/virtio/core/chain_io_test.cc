// ChainReader, ChainWriter and host_iovecs over several guest buffers.
#include "virtio/core/chain_io.h"

#include <gtest/gtest.h>

#include <array>
#include <numeric>

#include "tests/unit/virtio/core/fake_driver.h"

namespace keel::virtio::testing {
namespace {

class ChainIoTest : public ::testing::Test {
 protected:
  ChainIoTest() : ram_(1 << 16) {
    for (uint64_t i = 0; i < ram_.size(); ++i) ram_.host()[i] = std::byte(i & 0xFF);
  }
  GuardedGuestMemory ram_;
  // Three pieces of one stream: 4 + 1 + 8 bytes, not adjacent in RAM.
  std::vector<GuestBuffer> buffers_{{Gpa{0x100}, 4}, {Gpa{0x200}, 1}, {Gpa{0x300}, 8}};
};

// host_iovecs into an array with room for every piece, as a vector the
// assertions can look at.
Result<std::vector<iovec>> gather(const GuestMemory& memory, std::span<const GuestBuffer> buffers, uint64_t offset,
                                  uint64_t length) {
  std::array<iovec, 8> out{};
  auto count = host_iovecs(memory, buffers, offset, length, out);
  if (!count) return std::unexpected(count.error());
  return std::vector<iovec>(out.begin(), out.begin() + static_cast<ptrdiff_t>(*count));
}

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int value : values) out.push_back(std::byte(value));
  return out;
}

TEST_F(ChainIoTest, ReaderReadsAcrossBuffers) {
  ChainReader reader(ram_.memory(), buffers_);
  EXPECT_EQ(reader.remaining(), 13u);
  std::vector<std::byte> out(6);
  ASSERT_TRUE(reader.read(out).has_value());
  EXPECT_EQ(out, bytes({0x00, 0x01, 0x02, 0x03, 0x00, 0x00}));
  EXPECT_EQ(reader.remaining(), 7u);
  ASSERT_TRUE(reader.skip(2).has_value());
  std::vector<std::byte> rest(5);
  ASSERT_TRUE(reader.read(rest).has_value());
  EXPECT_EQ(rest, bytes({0x03, 0x04, 0x05, 0x06, 0x07}));
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST_F(ChainIoTest, ReaderRefusesToReadPastTheEnd) {
  ChainReader reader(ram_.memory(), buffers_);
  std::vector<std::byte> out(14);
  auto result = reader.read(out);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::out_of_bounds);
  EXPECT_EQ(reader.remaining(), 13u);  // nothing consumed
  EXPECT_FALSE(reader.skip(14).has_value());
  EXPECT_TRUE(reader.skip(13).has_value());
  std::vector<std::byte> one(1);
  EXPECT_FALSE(reader.read(one).has_value());
  EXPECT_TRUE(reader.read({}).has_value());
}

TEST_F(ChainIoTest, ReaderOverNoBuffers) {
  ChainReader reader(ram_.memory(), {});
  EXPECT_EQ(reader.remaining(), 0u);
  std::vector<std::byte> one(1);
  EXPECT_FALSE(reader.read(one).has_value());
}

TEST_F(ChainIoTest, WriterWritesAcrossBuffersAndCountsSkips) {
  ChainWriter writer(ram_.memory(), buffers_);
  EXPECT_EQ(writer.remaining(), 13u);
  const auto data = bytes({0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5});
  ASSERT_TRUE(writer.write(data).has_value());
  EXPECT_EQ(ram_.host()[0x103], std::byte(0xA3));
  EXPECT_EQ(ram_.host()[0x200], std::byte(0xA4));
  EXPECT_EQ(ram_.host()[0x300], std::byte(0xA5));
  EXPECT_EQ(ram_.host()[0x104], std::byte(0x04));  // untouched between buffers
  EXPECT_EQ(ram_.host()[0x201], std::byte(0x01));
  ASSERT_TRUE(writer.skip(6).has_value());
  ASSERT_TRUE(writer.write(bytes({0xEE})).has_value());
  EXPECT_EQ(ram_.host()[0x307], std::byte(0xEE));
  EXPECT_EQ(writer.written(), 13u);
  EXPECT_EQ(writer.remaining(), 0u);
  EXPECT_TRUE(ram_.guards_intact());
}

TEST_F(ChainIoTest, WriterRefusesToWritePastTheEnd) {
  ChainWriter writer(ram_.memory(), buffers_);
  const auto before = ram_.snapshot();
  std::vector<std::byte> data(14, std::byte{0xFF});
  auto result = writer.write(data);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::out_of_bounds);
  EXPECT_TRUE(ram_.snapshot() == before);
  EXPECT_EQ(writer.written(), 0u);
  EXPECT_FALSE(writer.skip(14).has_value());
}

TEST_F(ChainIoTest, WriterFailsWhenABufferLeavesRam) {
  // Buffers come from pop(), but the cursors re-check through GuestMemory.
  std::vector<GuestBuffer> bad{{Gpa{0x100}, 4}, {Gpa{ram_.size() - 2}, 4}};
  ChainWriter writer(ram_.memory(), bad);
  std::vector<std::byte> data(8, std::byte{0xFF});
  EXPECT_FALSE(writer.write(data).has_value());
  EXPECT_EQ(writer.written(), 4u);
  EXPECT_TRUE(ram_.guards_intact());
  ChainReader reader(ram_.memory(), bad);
  EXPECT_FALSE(reader.read(data).has_value());
}

TEST_F(ChainIoTest, HostIovecsCoverTheRequestedRange) {
  auto iovecs = gather(ram_.memory(), buffers_, 2, 8);
  ASSERT_TRUE(iovecs.has_value()) << iovecs.error().what;
  ASSERT_EQ(iovecs->size(), 3u);
  EXPECT_EQ((*iovecs)[0].iov_base, ram_.host() + 0x102);
  EXPECT_EQ((*iovecs)[0].iov_len, 2u);
  EXPECT_EQ((*iovecs)[1].iov_base, ram_.host() + 0x200);
  EXPECT_EQ((*iovecs)[1].iov_len, 1u);
  EXPECT_EQ((*iovecs)[2].iov_base, ram_.host() + 0x300);
  EXPECT_EQ((*iovecs)[2].iov_len, 5u);
}

TEST_F(ChainIoTest, HostIovecsStartingInALaterBuffer) {
  auto iovecs = gather(ram_.memory(), buffers_, 5, 8);
  ASSERT_TRUE(iovecs.has_value());
  ASSERT_EQ(iovecs->size(), 1u);
  EXPECT_EQ((*iovecs)[0].iov_base, ram_.host() + 0x300);
  EXPECT_EQ((*iovecs)[0].iov_len, 8u);
}

TEST_F(ChainIoTest, HostIovecsEmptyRange) {
  auto iovecs = gather(ram_.memory(), buffers_, 13, 0);
  ASSERT_TRUE(iovecs.has_value());
  EXPECT_TRUE(iovecs->empty());
}

TEST_F(ChainIoTest, HostIovecsRejectRangeBeyondBuffers) {
  auto iovecs = gather(ram_.memory(), buffers_, 6, 8);
  ASSERT_FALSE(iovecs.has_value());
  EXPECT_EQ(iovecs.error().code, Errc::out_of_bounds);
  EXPECT_FALSE(gather(ram_.memory(), buffers_, 14, 0).has_value());
}

TEST_F(ChainIoTest, HostIovecsRejectWrappingRange) {
  auto iovecs = gather(ram_.memory(), buffers_, 4, UINT64_MAX);
  ASSERT_FALSE(iovecs.has_value());
  EXPECT_EQ(iovecs.error().code, Errc::overflow);
}

TEST_F(ChainIoTest, HostIovecsRejectBufferOutsideRam) {
  std::vector<GuestBuffer> bad{{Gpa{ram_.size() - 2}, 4}};
  auto iovecs = gather(ram_.memory(), bad, 0, 4);
  ASSERT_FALSE(iovecs.has_value());
  EXPECT_EQ(iovecs.error().code, Errc::out_of_bounds);
}

TEST_F(ChainIoTest, HostIovecsNeverGrowPastTheCallersArray) {
  // Three pieces into room for two: an error, not an allocation.
  std::array<iovec, 2> out{};
  auto count = host_iovecs(ram_.memory(), buffers_, 2, 8, out);
  ASSERT_FALSE(count.has_value());
  EXPECT_EQ(count.error().code, Errc::overflow);
  std::array<iovec, 3> room{};
  count = host_iovecs(ram_.memory(), buffers_, 2, 8, room);
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, 3u);
}

}  // namespace
}  // namespace keel::virtio::testing
