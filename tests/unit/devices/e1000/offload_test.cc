// The pure helpers: checksums, CRC, multicast hash, TSO validation.
#include <gtest/gtest.h>

#include "devices/e1000/checksum.h"
#include "devices/e1000/rx_filter.h"
#include "devices/e1000/tx_offload.h"

namespace keel::devices::e1000 {
namespace {

TEST(E1000Checksum, Rfc1071Example) {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(fold(ones_sum(bytes)), 0xddf2);
  const uint8_t odd[] = {0x01};
  EXPECT_EQ(fold(ones_sum(odd)), 0x0100);
}

TEST(E1000Checksum, Crc32CheckValue) {
  const std::string text = "123456789";
  EXPECT_EQ(ethernet_crc32(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())), 0xCBF43926u);
}

TEST(E1000MulticastHash, FollowsMo) {
  const std::array<uint8_t, 6> a = {0x01, 0x00, 0x5E, 0x00, 0x12, 0xAB};
  EXPECT_EQ(multicast_hash(a, 0), 0xAB1);
  EXPECT_EQ(multicast_hash(a, 1), (0xAB12 >> 3) & 0xFFF);
  EXPECT_EQ(multicast_hash(a, 2), (0xAB12 >> 2) & 0xFFF);
  EXPECT_EQ(multicast_hash(a, 3), 0xB12);
}

TEST(E1000Tso, ValidationRefusesNonsense) {
  TxContext c{.ipcss = 14, .ipcso = 24, .ipcse = 33, .tucss = 34, .tucso = 50, .tucse = 0, .paylen = 1000,
              .tcp = true, .ipv4 = true, .tse = true, .hdr_len = 54, .mss = 1448};
  EXPECT_TRUE(validate_tso(c, 1054));
  EXPECT_FALSE(validate_tso(c, 54)) << "no payload";
  auto bad = c;
  bad.mss = 0;
  EXPECT_FALSE(validate_tso(bad, 1054));
  bad = c;
  bad.mss = 20000;
  EXPECT_FALSE(validate_tso(bad, 30000)) << "segment larger than a frame";
  bad = c;
  bad.hdr_len = 40;
  EXPECT_FALSE(validate_tso(bad, 1054)) << "TCP header beyond hdr_len";
  bad = c;
  bad.tucso = 250;
  EXPECT_FALSE(validate_tso(bad, 1054));
  bad = c;
  bad.tucss = 20;
  EXPECT_FALSE(validate_tso(bad, 1054)) << "TCP header inside the IP header";
}

TEST(E1000Offload, OutOfRangeOffsetsLeavePacketAlone) {
  std::vector<uint8_t> packet(60, 0xAB);
  const auto copy = packet;
  insert_legacy_checksum(packet, 10, 200);
  insert_legacy_checksum(packet, 100, 20);
  insert_legacy_checksum(packet, 30, 20);  // cso before css
  TxContext c{.ipcss = 200, .ipcso = 250, .ipcse = 0, .tucss = 255, .tucso = 255, .tucse = 0, .paylen = 0,
              .tcp = true, .ipv4 = true, .tse = false, .hdr_len = 0, .mss = 0};
  insert_context_checksums(packet, c, true, true);
  EXPECT_EQ(packet, copy);
}

}  // namespace
}  // namespace keel::devices::e1000

namespace keel::devices::e1000 {
namespace {

// The word-parallel sum and the sliced CRC against bytewise references,
// for every length and alignment that matters.
TEST(E1000Checksum, FastPathsMatchBytewiseReferences) {
  std::vector<uint8_t> data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 151 + 7);
  for (size_t start = 0; start < 8; ++start) {
    for (size_t length = 0; start + length <= data.size(); length += 13) {
      const auto span = std::span<const uint8_t>(data).subspan(start, length);
      uint32_t sum = 0;
      for (size_t i = 0; i < length; i += 2) sum += static_cast<uint32_t>(span[i] << 8 | (i + 1 < length ? span[i + 1] : 0));
      EXPECT_EQ(fold(ones_sum(span)), fold(sum)) << start << " " << length;
      uint32_t crc = 0xFFFFFFFF;
      for (uint8_t b : span) {
        crc ^= b;
        for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
      }
      EXPECT_EQ(ethernet_crc32(span), ~crc) << start << " " << length;
    }
  }
}

}  // namespace
}  // namespace keel::devices::e1000
