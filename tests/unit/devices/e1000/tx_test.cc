// Transmit: legacy frames, context + data descriptors with checksum
// insertion, TSO, back-pressure from the backend, hostile rings.
#include "tests/unit/devices/e1000/e1000_test_support.h"

namespace keel::devices::e1000::test {
namespace {

constexpr uint8_t kEop = 0x01, kIfcs = 0x02, kIc = 0x04, kTse = 0x04, kRs = 0x08, kVle = 0x40;
constexpr uint8_t kIxsm = 0x01, kTxsm = 0x02;
constexpr uint8_t kTucmdTcp = 0x01, kTucmdIp = 0x02, kTucmdTse = 0x04;

TEST_F(E1000Test, LegacyFrameIsSentWithZeroHeaderAndWrittenBack) {
  write(reg::kIms, irq::kTxdw | irq::kTxqe);
  setup_tx(8);
  const Bytes frame = ipv4_frame(200, false);
  // Split over two buffers.
  put(kTxBuffers, Bytes(frame.begin(), frame.begin() + 30));
  put(kTxBuffers + 0x1000, Bytes(frame.begin() + 30, frame.end()));
  tx_put(legacy(kTxBuffers, 30, kIfcs));
  tx_put(legacy(kTxBuffers + 0x1000, static_cast<uint16_t>(frame.size() - 30), kEop | kIfcs | kRs));
  tx_kick();
  ASSERT_EQ(backend_->sent.size(), 1u);
  EXPECT_EQ(backend_->sent[0], frame);
  EXPECT_EQ(backend_->headers[0], Bytes(12, 0));
  EXPECT_EQ(read(reg::kTdh), 2u);
  EXPECT_EQ(tx_status(0) & 1, 0) << "no RS: no write-back";
  EXPECT_EQ(tx_status(1) & 1, 1);
  EXPECT_TRUE(line_->level());
  EXPECT_EQ(read(reg::kIcr), irq::kTxdw | irq::kTxqe);
}

TEST_F(E1000Test, TransmitWaitsForTctlEnable) {
  setup_tx(8);
  write(reg::kTctl, 0);
  const Bytes frame = ipv4_frame(20, true);
  put(kTxBuffers, frame);
  tx_put(legacy(kTxBuffers, static_cast<uint16_t>(frame.size()), kEop | kRs));
  tx_kick();
  EXPECT_TRUE(backend_->sent.empty());
  write(reg::kTctl, tctl::kEn);
  EXPECT_EQ(backend_->sent.size(), 1u);
}

TEST_F(E1000Test, LegacyChecksumInsertion) {
  setup_tx(8);
  Bytes frame = ipv4_frame(101, false);
  set_be16(frame, 40, pseudo_seed(frame, true));  // UDP checksum field: seeded
  frame[24] = frame[25] = 0;
  put(kTxBuffers, frame);
  // UDP checksum: CSS = 34, CSO = 40.
  tx_put(legacy(kTxBuffers, static_cast<uint16_t>(frame.size()), kEop | kIc | kRs, 40, 34));
  tx_kick();
  ASSERT_EQ(backend_->sent.size(), 1u);
  EXPECT_TRUE(l4_checksum_ok(backend_->sent[0]));
}

TEST_F(E1000Test, ContextAndDataDescriptorsInsertIpAndTcpChecksums) {
  setup_tx(16);
  Bytes frame = ipv4_frame(333, true);
  set_be16(frame, 50, pseudo_seed(frame, true));  // what Linux's stack seeds for CHECKSUM_PARTIAL
  put(kTxBuffers, frame);
  tx_put(context(14, 24, 33, 34, 50, 0, 0, kTucmdTcp | kTucmdIp, 0, 0));
  tx_put(data(kTxBuffers, 54, 0, kIxsm | kTxsm));
  tx_put(data(kTxBuffers + 54, static_cast<uint32_t>(frame.size() - 54), kEop | kRs, 0));
  tx_kick();
  ASSERT_EQ(backend_->sent.size(), 1u);
  const Bytes& out = backend_->sent[0];
  EXPECT_TRUE(ip_checksum_ok(out));
  EXPECT_TRUE(l4_checksum_ok(out));
  // Identical apart from the two checksum fields.
  Bytes expected = frame;
  expected[24] = out[24];
  expected[25] = out[25];
  expected[50] = out[50];
  expected[51] = out[51];
  EXPECT_EQ(out, expected);
}

TEST_F(E1000Test, UdpChecksumInsertion) {
  setup_tx(16);
  Bytes frame = ipv4_frame(57, false);
  set_be16(frame, 40, pseudo_seed(frame, true));
  put(kTxBuffers, frame);
  tx_put(context(14, 24, 33, 34, 40, 0, 0, kTucmdIp, 0, 0));
  tx_put(data(kTxBuffers, static_cast<uint32_t>(frame.size()), kEop | kRs, kTxsm));
  tx_kick();
  ASSERT_EQ(backend_->sent.size(), 1u);
  EXPECT_TRUE(l4_checksum_ok(backend_->sent[0]));
}

TEST_F(E1000Test, TsoSegmentsTenKilobytes) {
  setup_tx(32);
  constexpr size_t kPayload = 10000;
  constexpr uint16_t kMss = 1448;
  Bytes packet = ipv4_frame(kPayload, true);
  set_be16(packet, 24, 0);
  set_be16(packet, 50, pseudo_seed(packet, false));  // Linux's e1000_tso: no length
  put(kTxBuffers, packet);
  tx_put(context(14, 24, 33, 34, 50, 0, kPayload, kTucmdTcp | kTucmdIp | kTucmdTse, 54, kMss));
  // Header in one descriptor, payload in 4 KiB pieces.
  tx_put(data(kTxBuffers, 54, kTse, kIxsm | kTxsm));
  size_t offset = 54;
  while (offset < packet.size()) {
    const size_t n = std::min<size_t>(4096, packet.size() - offset);
    const bool last = offset + n == packet.size();
    tx_put(data(kTxBuffers + offset, static_cast<uint32_t>(n), kTse | (last ? kEop | kRs : 0), kIxsm | kTxsm));
    offset += n;
  }
  tx_kick();
  const size_t segments = (kPayload + kMss - 1) / kMss;
  ASSERT_EQ(backend_->sent.size(), segments);
  Bytes reassembled;
  for (size_t i = 0; i < segments; ++i) {
    const Bytes& s = backend_->sent[i];
    const size_t payload = std::min<size_t>(kMss, kPayload - i * kMss);
    ASSERT_EQ(s.size(), 54 + payload) << i;
    EXPECT_EQ(backend_->headers[i], Bytes(12, 0));
    EXPECT_EQ(be16(s, 16), 40 + payload) << "IP total length " << i;
    EXPECT_EQ(be16(s, 18), 0x1234 + i) << "IP id " << i;
    EXPECT_EQ(be32(s, 38), 0x10203040u + i * kMss) << "TCP seq " << i;
    const bool last = i + 1 == segments;
    EXPECT_EQ(s[47], last ? 0x19 : 0x10) << "FIN/PSH only on the last segment " << i;
    EXPECT_TRUE(ip_checksum_ok(s)) << i;
    EXPECT_TRUE(l4_checksum_ok(s)) << i;
    EXPECT_TRUE(std::equal(s.begin(), s.begin() + 14, packet.begin()));
    reassembled.insert(reassembled.end(), s.begin() + 54, s.end());
  }
  EXPECT_EQ(reassembled, Bytes(packet.begin() + 54, packet.end()));
  EXPECT_EQ(read(stat::kTsctc), 1u);
}

TEST_F(E1000Test, TsoWithNonsenseContextIsDroppedAndRingAdvances) {
  setup_tx(16);
  Bytes packet = ipv4_frame(3000, true);
  put(kTxBuffers, packet);
  // MSS 0, then a header length beyond the TCP header offsets.
  tx_put(context(14, 24, 33, 34, 50, 0, 3000, kTucmdTcp | kTucmdIp | kTucmdTse, 54, 0));
  tx_put(data(kTxBuffers, static_cast<uint32_t>(packet.size()), kTse | kEop | kRs, kIxsm | kTxsm));
  tx_put(context(14, 24, 33, 200, 250, 0, 3000, kTucmdTcp | kTucmdIp | kTucmdTse, 20, 1000));
  tx_put(data(kTxBuffers, static_cast<uint32_t>(packet.size()), kTse | kEop | kRs, kIxsm | kTxsm));
  tx_kick();
  EXPECT_TRUE(backend_->sent.empty());
  EXPECT_EQ(device_->counters().tx_bad_tso, 2u);
  EXPECT_EQ(read(reg::kTdh), 4u);
  EXPECT_EQ(tx_status(3) & 1, 1);
  EXPECT_EQ(read(stat::kTsctfc), 2u);
}

TEST_F(E1000Test, VlanTagInsertedWhenVmeSet) {
  write(reg::kCtrl, read(reg::kCtrl) | ctrl::kVme);
  setup_tx(8);
  const Bytes frame = ipv4_frame(40, false);
  put(kTxBuffers, frame);
  auto d = legacy(kTxBuffers, static_cast<uint16_t>(frame.size()), kEop | kRs | kVle);
  d[14] = 0x05;  // VLAN 5 (special, little-endian)
  tx_put(d);
  tx_kick();
  ASSERT_EQ(backend_->sent.size(), 1u);
  const Bytes& out = backend_->sent[0];
  ASSERT_EQ(out.size(), frame.size() + 4);
  EXPECT_EQ(be16(out, 12), 0x8100);
  EXPECT_EQ(be16(out, 14), 5);
  EXPECT_TRUE(std::equal(out.begin() + 16, out.end(), frame.begin() + 12));
}

TEST_F(E1000Test, BackendWouldBlockKeepsFramesAndResumes) {
  setup_tx(8);
  const Bytes frame = ipv4_frame(64, false);
  put(kTxBuffers, frame);
  backend_->would_block = true;
  for (int i = 0; i < 3; ++i) tx_put(legacy(kTxBuffers, static_cast<uint16_t>(frame.size()), kEop | kRs));
  tx_kick();
  EXPECT_TRUE(backend_->sent.empty());
  EXPECT_EQ(read(reg::kTdh), 1u) << "the ring stops behind the refused frame";
  backend_->would_block = false;
  backend_->listener()->send_possible();
  EXPECT_EQ(backend_->sent.size(), 3u);
  EXPECT_EQ(read(reg::kTdh), 3u);
  EXPECT_EQ(device_->counters().tx_dropped, 0u);
}

// --- Hostile transmit rings -------------------------------------------------

class E1000HostileTx : public E1000Test {
 protected:
  void SetUp() override {
    // A canary pattern over all of RAM: nothing outside the ring's status
    // bytes may change.
    for (uint64_t i = 0; i < kMemorySize; ++i) *ram(i) = static_cast<uint8_t>(i * 13 + 5);
    before_ = get(0, kMemorySize);
  }
  void expect_ram_untouched_except_ring() {
    const Bytes after = get(0, kMemorySize);
    for (uint64_t i = 0; i < kMemorySize; ++i) {
      if (i >= kTxRing && i < kTxRing + 16 * tx_count_) continue;
      if (i >= kTxBuffers && i < kTxBuffers + 0x10000) continue;  // frames the test wrote
      if (after[i] != before_[i]) {
        ADD_FAILURE() << "guest RAM changed at " << i;
        return;
      }
    }
  }
  Bytes before_;
};

TEST_F(E1000HostileTx, BadRingGeometryIsRefused) {
  setup_tx(8);
  tx_put(legacy(kTxBuffers, 60, kEop | kRs));
  write(reg::kTdlen, 100);  // not a multiple of 128: masked to 0
  tx_kick();
  write(reg::kTdlen, 128);
  write(reg::kTdbal, 0x20008);  // not 16-byte aligned
  tx_kick();
  write(reg::kTdbal, static_cast<uint32_t>(kMemorySize - 64));  // ring past the end of RAM
  tx_kick();
  write(reg::kTdbal, 0);
  write(reg::kTdbah, 0x10);  // far outside RAM
  tx_kick();
  EXPECT_TRUE(backend_->sent.empty());
  EXPECT_GE(device_->counters().tx_ring_errors, 4u);
  expect_ram_untouched_except_ring();
}

TEST_F(E1000HostileTx, HeadOrTailBeyondRingIsRefused) {
  setup_tx(8);
  tx_put(legacy(kTxBuffers, 60, kEop | kRs));
  write(reg::kTdh, 100);
  write(reg::kTdt, 1);
  write(reg::kTdh, 0);
  write(reg::kTdt, 9);
  EXPECT_TRUE(backend_->sent.empty());
  EXPECT_EQ(device_->counters().tx_ring_errors, 2u);
  write(reg::kTdt, 1);  // a sane tail works again
  EXPECT_EQ(backend_->sent.size(), 1u);
  expect_ram_untouched_except_ring();
}

TEST_F(E1000HostileTx, BadBuffersAreDroppedAndTheRingMovesOn) {
  setup_tx(16);
  put(kTxBuffers, ipv4_frame(64, false));
  tx_put(legacy(kTxBuffers, 0, kEop | kRs));                  // zero length: empty packet
  tx_put(legacy(kMemorySize - 10, 60, kEop | kRs));           // crosses the end of RAM
  tx_put(legacy(0xFFFFFFFFFFFFFFF0ull, 0xFFFF, kEop | kRs));  // wraps the address space
  tx_put(data(kTxBuffers, 0xFFFFF, kEop | kRs, 0));           // 1 MiB: oversized
  for (int i = 0; i < 3; ++i) tx_put(legacy(kTxBuffers, 0x4000, 0));  // 3 x 16 KiB: grows past the limit
  tx_put(legacy(kTxBuffers, 60, kEop | kRs));
  tx_put(legacy(kTxBuffers, 78, kEop | kRs));  // a good frame after it all
  tx_kick();
  ASSERT_EQ(backend_->sent.size(), 1u);
  EXPECT_EQ(backend_->sent[0].size(), 78u);
  EXPECT_EQ(device_->counters().tx_dropped, 5u);
  EXPECT_EQ(read(reg::kTdh), tx_tail_);
  expect_ram_untouched_except_ring();
}

TEST_F(E1000HostileTx, EndlessTailIsCutAfterOneRing) {
  setup_tx(8);
  const Bytes frame = ipv4_frame(20, false);
  put(kTxBuffers, frame);
  for (int i = 0; i < 8; ++i) tx_put(legacy(kTxBuffers, static_cast<uint16_t>(frame.size()), 0));  // no EOP ever
  // Tail one behind the head: 7 descriptors owned by the device. Each kick
  // processes at most the ring, and the packet never ends.
  write(reg::kTdt, 7);
  EXPECT_EQ(read(reg::kTdh), 7u);
  write(reg::kTdh, 0);  // a confused driver rewinds the head
  write(reg::kTdt, 7);
  EXPECT_TRUE(backend_->sent.empty());
  expect_ram_untouched_except_ring();
}

}  // namespace
}  // namespace keel::devices::e1000::test

namespace keel::devices::e1000::test {
namespace {

TEST_F(E1000Test, ListenerCalledFromInsideSendIsDeferredNotDeadlocked) {
  setup_rx(8);
  setup_tx(8);
  const Bytes request = ipv4_frame(64, false);
  const Bytes reply = ipv4_frame(90, false);
  put(kTxBuffers, request);
  // The backend answers the frame at once and says so from within send().
  backend_->on_send = [&] {
    backend_->on_send = nullptr;
    backend_->queue(reply);
    backend_->listener()->frames_waiting();
  };
  tx_put(legacy(kTxBuffers, static_cast<uint16_t>(request.size()), 0x01 | 0x08));
  tx_kick();
  ASSERT_EQ(backend_->sent.size(), 1u);
  // The reply was received once the device left the backend call.
  EXPECT_EQ(read(reg::kRdh), 1u);
  EXPECT_EQ(get(kRxBuffers, reply.size()), reply);
}

}  // namespace
}  // namespace keel::devices::e1000::test
