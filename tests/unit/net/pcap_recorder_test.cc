#include "src/net/pcap_recorder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "keel/config_error.h"
#include "tests/support/fakes.h"

namespace keel::net {
namespace {

// A backend that records what was sent and hands out queued frames.
class FakeBackend final : public NetBackend {
 public:
  BackendCapabilities capabilities() const noexcept override { return {}; }
  void attach(NetBackendListener& listener) noexcept override { listener_ = &listener; }
  void set_receive_interest(bool interested) noexcept override { interest = interested; }
  Result<SendStatus> send(std::span<const iovec> frame) noexcept override {
    if (refuse_next) {
      refuse_next = false;
      return fail(Errc::invalid_argument, "refused");
    }
    if (block_next) {
      block_next = false;
      return SendStatus::would_block;
    }
    std::vector<uint8_t> bytes;
    for (const iovec& part : frame) {
      const auto* data = static_cast<const uint8_t*>(part.iov_base);
      bytes.insert(bytes.end(), data, data + part.iov_len);
    }
    sent.push_back(std::move(bytes));
    return SendStatus::sent;
  }
  Result<size_t> receive(std::span<const iovec> buffer) noexcept override {
    if (incoming.empty()) return size_t{0};
    std::vector<uint8_t> frame = std::move(incoming.front());
    incoming.pop_front();
    size_t done = 0;
    for (const iovec& part : buffer) {
      const size_t take = std::min(part.iov_len, frame.size() - done);
      std::memcpy(part.iov_base, frame.data() + done, take);
      done += take;
    }
    return done;
  }
  void set_guest_offloads(const Offloads& offloads) noexcept override { guest_offloads = offloads; }

  NetBackendListener* listener_ = nullptr;
  bool interest = true;
  bool refuse_next = false;
  bool block_next = false;
  Offloads guest_offloads;
  std::vector<std::vector<uint8_t>> sent;
  std::deque<std::vector<uint8_t>> incoming;
};

class PcapRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/keel-pcap-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir = pattern;
    path = dir / "net.pcap";
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::vector<uint8_t> file_bytes() const {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::filesystem::path dir;
  std::filesystem::path path;
  testing::FakeClock clock{std::chrono::seconds(1'700'000'000)};
};

uint32_t u32_at(const std::vector<uint8_t>& bytes, size_t offset) {
  uint32_t value = 0;
  std::memcpy(&value, bytes.data() + offset, 4);
  return value;
}

// A vnet header (non-zero, so a recorder that kept it would be caught) then
// an Ethernet frame of `length` bytes whose content is `seed + i`.
std::vector<uint8_t> frame_with_header(size_t length, uint8_t seed) {
  std::vector<uint8_t> bytes(kVnetHeaderSize, 0xee);
  for (size_t i = 0; i < length; ++i) bytes.push_back(static_cast<uint8_t>(seed + i));
  return bytes;
}

TEST_F(PcapRecorderTest, WritesTheFileHeaderAtOnce) {
  auto recorder = PcapRecorder::create(std::make_unique<FakeBackend>(), path, clock);
  const std::vector<uint8_t> bytes = file_bytes();
  ASSERT_EQ(bytes.size(), 24u);
  EXPECT_EQ(u32_at(bytes, 0), 0xa1b2c3d4u);  // microsecond pcap, host order
  EXPECT_EQ(bytes[4] | bytes[5] << 8, 2);    // version 2.4 (little-endian host)
  EXPECT_EQ(bytes[6] | bytes[7] << 8, 4);
  EXPECT_EQ(u32_at(bytes, 8), 0u);            // thiszone
  EXPECT_EQ(u32_at(bytes, 12), 0u);           // sigfigs
  EXPECT_EQ(u32_at(bytes, 16), 65535u);       // snaplen
  EXPECT_EQ(u32_at(bytes, 20), 1u);           // LINKTYPE_ETHERNET
}

TEST_F(PcapRecorderTest, RecordsSentAndReceivedFramesWithoutTheVnetHeader) {
  auto fake_owner = std::make_unique<FakeBackend>();
  FakeBackend& fake = *fake_owner;
  auto recorder = PcapRecorder::create(std::move(fake_owner), path, clock);

  // Sent in three pieces, the first of which splits the vnet header.
  const std::vector<uint8_t> out = frame_with_header(60, 1);
  const iovec pieces[] = {{const_cast<uint8_t*>(out.data()), 5},
                          {const_cast<uint8_t*>(out.data()) + 5, 20},
                          {const_cast<uint8_t*>(out.data()) + 25, out.size() - 25}};
  clock.advance(std::chrono::microseconds(1'234'567));
  ASSERT_EQ(recorder->send(pieces).value(), SendStatus::sent);
  ASSERT_EQ(fake.sent.size(), 1u);
  EXPECT_EQ(fake.sent[0], out);  // passed through whole, header included

  // Not recorded: a refused frame and one that would block.
  fake.refuse_next = true;
  EXPECT_FALSE(recorder->send(pieces).has_value());
  fake.block_next = true;
  EXPECT_EQ(recorder->send(pieces).value(), SendStatus::would_block);

  // Received into two buffers.
  fake.incoming.push_back(frame_with_header(100, 50));
  std::vector<uint8_t> in(200, 0);
  const iovec buffers[] = {{in.data(), 8}, {in.data() + 8, in.size() - 8}};
  clock.advance(std::chrono::microseconds(500'000));
  ASSERT_EQ(recorder->receive(buffers).value(), kVnetHeaderSize + 100);
  EXPECT_EQ(recorder->receive(buffers).value(), 0u);  // nothing waiting: nothing recorded
  EXPECT_EQ(recorder->frames_recorded(), 2u);

  const std::vector<uint8_t> bytes = file_bytes();
  ASSERT_EQ(bytes.size(), 24u + 16 + 60 + 16 + 100);
  size_t at = 24;
  EXPECT_EQ(u32_at(bytes, at), 1'700'000'001u);
  EXPECT_EQ(u32_at(bytes, at + 4), 234'567u);
  EXPECT_EQ(u32_at(bytes, at + 8), 60u);
  EXPECT_EQ(u32_at(bytes, at + 12), 60u);
  EXPECT_TRUE(std::equal(out.begin() + kVnetHeaderSize, out.end(), bytes.begin() + at + 16));
  at += 16 + 60;
  EXPECT_EQ(u32_at(bytes, at), 1'700'000'001u);
  EXPECT_EQ(u32_at(bytes, at + 4), 734'567u);
  EXPECT_EQ(u32_at(bytes, at + 8), 100u);
  EXPECT_EQ(u32_at(bytes, at + 12), 100u);
  const std::vector<uint8_t> expected_in = frame_with_header(100, 50);
  EXPECT_TRUE(std::equal(expected_in.begin() + kVnetHeaderSize, expected_in.end(), bytes.begin() + at + 16));
}

TEST_F(PcapRecorderTest, FramesBeyondTheSnaplenAreCut) {
  auto fake_owner = std::make_unique<FakeBackend>();
  auto recorder = PcapRecorder::create(std::move(fake_owner), path, clock);
  const std::vector<uint8_t> big = frame_with_header(kMaxFrameSize, 7);
  const iovec whole{const_cast<uint8_t*>(big.data()), big.size()};
  ASSERT_EQ(recorder->send({&whole, 1}).value(), SendStatus::sent);
  const std::vector<uint8_t> bytes = file_bytes();
  ASSERT_EQ(bytes.size(), 24u + 16 + 65535);
  EXPECT_EQ(u32_at(bytes, 24 + 8), 65535u);
  EXPECT_EQ(u32_at(bytes, 24 + 12), kMaxFrameSize);
}

TEST_F(PcapRecorderTest, PassesTheRestThrough) {
  auto fake_owner = std::make_unique<FakeBackend>();
  FakeBackend& fake = *fake_owner;
  auto recorder = PcapRecorder::create(std::move(fake_owner), path, clock);
  recorder->set_receive_interest(false);
  EXPECT_FALSE(fake.interest);
  recorder->set_guest_offloads(Offloads{.csum = true, .tso4 = true});
  EXPECT_TRUE(fake.guest_offloads.tso4);
  struct NullListener final : NetBackendListener {
    void frames_waiting() noexcept override {}
    void send_possible() noexcept override {}
  } listener;
  recorder->attach(listener);
  EXPECT_EQ(fake.listener_, &listener);
}

TEST_F(PcapRecorderTest, RefusesAMissingDirectory) {
  const std::filesystem::path missing = dir / "no-such-dir" / "x.pcap";
  try {
    PcapRecorder::create(std::make_unique<FakeBackend>(), missing, clock);
    ADD_FAILURE() << "created a pcap in a missing directory";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find((dir / "no-such-dir").string()), std::string::npos) << message;
    EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace keel::net
