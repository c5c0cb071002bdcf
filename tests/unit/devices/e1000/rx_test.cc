// Receive: descriptors written with DD/EOP/length, address and VLAN
// filtering, checksum status, back-pressure, delay timers, hostile rings.
#include <chrono>

#include "tests/unit/devices/e1000/e1000_test_support.h"

namespace keel::devices::e1000::test {
namespace {

using namespace std::chrono_literals;
constexpr uint8_t kDd = 0x01, kEop = 0x02, kIxsm = 0x04, kVp = 0x08, kTcpcs = 0x20, kIpcs = 0x40;

TEST_F(E1000Test, FrameLandsInDescriptorWithDdEopLength) {
  write(reg::kIms, irq::kRxt0);
  setup_rx(8);
  const Bytes frame = ipv4_frame(300, false);
  backend_->queue(frame);
  backend_->pump();
  const RxDesc d = rx_desc(0);
  EXPECT_EQ(d.status & (kDd | kEop), kDd | kEop);
  EXPECT_EQ(d.length, frame.size());
  EXPECT_EQ(d.errors, 0);
  EXPECT_EQ(get(kRxBuffers, frame.size()), frame);
  EXPECT_EQ(d.buffer, kRxBuffers) << "the buffer address is left as posted";
  EXPECT_EQ(read(reg::kRdh), 1u);
  EXPECT_TRUE(line_->level());
  EXPECT_TRUE(read(reg::kIcr) & irq::kRxt0);
  EXPECT_EQ(rx_desc(1).status, 0) << "next descriptor untouched";
  EXPECT_EQ(read(stat::kGprc), 1u);
  EXPECT_EQ(read(stat::kGorcl), frame.size() + 4);
  EXPECT_EQ(read(stat::kTpr), 1u);
}

TEST_F(E1000Test, ShortFramesArePaddedAndFcsKeptWithoutSecrc) {
  setup_rx(8);
  write(reg::kRctl, read(reg::kRctl) & ~rctl::kSecrc);
  Bytes arp(42, 0xFF);  // broadcast, 42 bytes
  arp[12] = 0x08;
  arp[13] = 0x06;
  backend_->queue(arp);
  backend_->pump();
  const RxDesc d = rx_desc(0);
  EXPECT_EQ(d.length, 64) << "60 bytes padded + 4 bytes FCS";
  Bytes got = get(kRxBuffers, 64);
  EXPECT_TRUE(std::equal(arp.begin(), arp.end(), got.begin()));
  // The FCS is the CRC-32 of the padded frame: CRC over frame + FCS gives
  // the fixed residue.
  uint32_t crc = 0xFFFFFFFF;
  for (uint8_t b : got) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  EXPECT_EQ(crc, 0xDEBB20E3u);
}

TEST_F(E1000Test, LargeFrameSpansDescriptors) {
  setup_rx(8, rctl::kLpe | (2u << rctl::kBsizeShift));  // 512-byte buffers
  const Bytes frame = ipv4_frame(1200, true);
  backend_->queue(frame);
  backend_->pump();
  size_t total = 0;
  for (uint32_t i = 0; i < 3; ++i) {
    const RxDesc d = rx_desc(i);
    EXPECT_TRUE(d.status & kDd);
    EXPECT_EQ((d.status & kEop) != 0, i == 2);
    EXPECT_EQ(get(kRxBuffers + 2048 * i, d.length), Bytes(frame.begin() + total, frame.begin() + total + d.length));
    total += d.length;
  }
  EXPECT_EQ(total, frame.size());
  EXPECT_EQ(read(reg::kRdh), 3u);
}

TEST_F(E1000Test, OversizedFrameWithoutLpeIsDropped) {
  setup_rx(8);
  backend_->queue(ipv4_frame(1600, false));
  backend_->queue(ipv4_frame(30, false));
  backend_->pump();
  EXPECT_EQ(read(reg::kRdh), 1u);
  EXPECT_EQ(rx_desc(0).length, 14 + 20 + 8 + 30);
  EXPECT_EQ(read(stat::kRoc), 1u);
}

TEST_F(E1000Test, ChecksumStatusBits) {
  setup_rx(8);
  Bytes good = ipv4_frame(77, true);
  {
    const size_t l4 = be16(good, 16) - 20u;
    set_be16(good, 50, reference_checksum(&good[34], l4, pseudo_seed(good, true)));
  }
  ASSERT_TRUE(ip_checksum_ok(good));
  ASSERT_TRUE(l4_checksum_ok(good));
  Bytes bad = good;
  bad[60] ^= 0xFF;  // payload corrupted: TCP checksum wrong
  backend_->queue(good);
  backend_->queue(bad);
  backend_->pump();
  EXPECT_EQ(rx_desc(0).status & (kIpcs | kTcpcs | kIxsm), kIpcs | kTcpcs);
  EXPECT_EQ(rx_desc(0).errors, 0);
  EXPECT_EQ(rx_desc(1).status & (kIpcs | kTcpcs), kIpcs | kTcpcs);
  EXPECT_EQ(rx_desc(1).errors, 0x20) << "TCPE";
  // Offload off: IXSM tells the driver to ignore the bits.
  write(reg::kRxcsum, 0);
  backend_->queue(good);
  backend_->pump();
  EXPECT_EQ(rx_desc(2).status & (kIpcs | kTcpcs | kIxsm), kIxsm);
}

TEST_F(E1000Test, VlanStrippedIntoDescriptorAndFiltered) {
  setup_rx(8, rctl::kVfe);
  write(reg::kCtrl, read(reg::kCtrl) | ctrl::kVme);
  write(reg::kVfta + 4 * (100 >> 5), 1u << (100 & 31));  // VLAN 100 allowed
  auto tagged = [](uint16_t vid) {
    Bytes f = ipv4_frame(30, false);
    const uint8_t tag[4] = {0x81, 0x00, static_cast<uint8_t>(vid >> 8), static_cast<uint8_t>(vid)};
    f.insert(f.begin() + 12, tag, tag + 4);
    return f;
  };
  backend_->queue(tagged(200));
  backend_->queue(tagged(100));
  backend_->pump();
  EXPECT_EQ(read(reg::kRdh), 1u) << "VLAN 200 filtered";
  const RxDesc d = rx_desc(0);
  EXPECT_TRUE(d.status & kVp);
  EXPECT_EQ(d.special, 100);
  EXPECT_EQ(get(kRxBuffers, 14 + 20 + 8 + 30), ipv4_frame(30, false));
}

class E1000Filter : public E1000Test {
 protected:
  bool accepted(const std::array<uint8_t, 6>& dst) {
    const uint32_t before = read(reg::kRdh);
    Bytes f = ipv4_frame(10, false, dst);
    backend_->queue(f);
    backend_->pump();
    return read(reg::kRdh) != before;
  }
};

TEST_F(E1000Filter, AddressFiltering) {
  setup_rx(64, 0);
  write(reg::kRctl, rctl::kEn | rctl::kSecrc);  // no BAM
  const std::array<uint8_t, 6> other = {0x52, 0x54, 0x00, 0x99, 0x99, 0x99};
  const std::array<uint8_t, 6> broadcast = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  const std::array<uint8_t, 6> group = {0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB};
  EXPECT_TRUE(accepted(kMac));
  EXPECT_FALSE(accepted(other));
  EXPECT_FALSE(accepted(broadcast));
  EXPECT_FALSE(accepted(group));
  // A second exact address in RA[3], valid only with AV.
  write(reg::kRa + 24, 0x99005452);
  write(reg::kRa + 28, 0x9999);
  EXPECT_FALSE(accepted(other));
  write(reg::kRa + 28, 0x9999 | kRahAv);
  EXPECT_TRUE(accepted(other));
  write(reg::kRctl, rctl::kEn | rctl::kSecrc | rctl::kBam);
  EXPECT_TRUE(accepted(broadcast));
  // MTA with MO = 0: hash of bits 47:36 of 01:00:5E:00:00:FB = 0xFB0.
  write(reg::kMta + 4 * (0xFB0 >> 5), 1u << (0xFB0 & 31));
  EXPECT_TRUE(accepted(group));
  // MO = 3 selects bits 43:32 (0x0FB): the same MTA bit no longer matches.
  write(reg::kRctl, rctl::kEn | rctl::kSecrc | (3u << rctl::kMoShift));
  EXPECT_FALSE(accepted(group));
  write(reg::kRctl, rctl::kEn | rctl::kSecrc | rctl::kMpe);
  EXPECT_TRUE(accepted(group));
  write(reg::kRa + 28, 0x9999);
  write(reg::kRctl, rctl::kEn | rctl::kSecrc);
  EXPECT_FALSE(accepted(other));
  write(reg::kRctl, rctl::kEn | rctl::kSecrc | rctl::kUpe);
  EXPECT_TRUE(accepted(other));
  EXPECT_GT(device_->counters().rx_filtered, 0u);
}

TEST_F(E1000Test, DisabledReceiverDropsFrames) {
  // Reset state: RCTL.EN clear. Frames are read and dropped, as hardware.
  backend_->queue(ipv4_frame(10, false));
  backend_->pump();
  EXPECT_TRUE(backend_->incoming.empty());
  EXPECT_EQ(device_->counters().rx_dropped_disabled, 1u);
}

TEST_F(E1000Test, FramesAskingForOffloadsAreDropped) {
  setup_rx(8);
  net::VnetHeader header;
  header.flags = net::VnetHeader::kNeedsCsum;
  backend_->queue(ipv4_frame(10, true), header);
  header = {};
  header.gso_type = net::VnetHeader::kGsoTcpv4;
  backend_->queue(ipv4_frame(10, true), header);
  backend_->queue(ipv4_frame(10, true));
  backend_->pump();
  EXPECT_EQ(device_->counters().rx_dropped_bad_header, 2u);
  EXPECT_EQ(read(reg::kRdh), 1u);
}

TEST_F(E1000Test, BackPressureStopsReadingAndResumesOnRdt) {
  write(reg::kIms, irq::kRxo | irq::kRxdmt0);
  setup_rx(8, 0, 2);  // only descriptors 0 and 1 posted
  for (int i = 0; i < 5; ++i) backend_->queue(ipv4_frame(30 + i, false));
  backend_->pump();
  EXPECT_EQ(read(reg::kRdh), 2u);
  EXPECT_FALSE(backend_->interest) << "no free descriptors: stop reading the backend";
  EXPECT_EQ(backend_->incoming.size(), 2u) << "one frame held, the rest left in the backend";
  EXPECT_EQ(device_->counters().rx_dropped_disabled + device_->counters().rx_dropped_oversize, 0u);
  const uint32_t icr = read(reg::kIcr);
  EXPECT_TRUE(icr & irq::kRxo);
  EXPECT_TRUE(icr & irq::kRxdmt0);
  EXPECT_EQ(read(stat::kRnbc), 1u);
  EXPECT_EQ(read(stat::kMpc), 0u) << "nothing missed";
  // The driver posts more: the held frame goes in at once, reading resumes.
  write(reg::kRdt, 7);
  EXPECT_EQ(read(reg::kRdh), 3u);
  EXPECT_TRUE(backend_->interest);
  backend_->pump();
  EXPECT_EQ(read(reg::kRdh), 5u);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(rx_desc(i).length, 14 + 20 + 8 + 30 + i) << "in order " << i;
}

TEST_F(E1000Test, ReceiveDelayTimers) {
  write(reg::kIms, irq::kRxt0);
  write(reg::kRdtr, 100);  // 102.4 us
  write(reg::kRadv, 150);  // 153.6 us
  setup_rx(16);
  backend_->queue(ipv4_frame(10, false));
  backend_->pump();
  EXPECT_FALSE(line_->level()) << "delayed";
  clock_.advance(80us);
  backend_->queue(ipv4_frame(10, false));
  backend_->pump();
  clock_.advance(60us);  // 140 us: the packet timer restarted, absolute not yet
  EXPECT_FALSE(line_->level());
  clock_.advance(20us);  // 160 us: RADV caps the delay
  EXPECT_TRUE(line_->level());
  EXPECT_EQ(read(reg::kIcr), irq::kRxt0);
  EXPECT_EQ(clock_.armed_timers(), 0);
}

// --- Hostile receive rings ----------------------------------------------------

class E1000HostileRx : public E1000Test {
 protected:
  void canary() {
    for (uint64_t i = 0; i < kMemorySize; ++i) *ram(i) = static_cast<uint8_t>(i * 11 + 3);
  }
  // RAM may change only in the ring's write-back bytes and the buffers.
  void expect_ram_untouched_except(uint64_t ring, uint32_t count, std::vector<std::pair<uint64_t, uint64_t>> ok) {
    // The test itself wrote the buffer addresses (bytes 0..7).
    for (uint32_t i = 0; i < count; ++i) ok.emplace_back(ring + 16 * i, 16);
    for (uint64_t i = 0; i < kMemorySize; ++i) {
      bool allowed = false;
      for (auto [start, length] : ok) allowed = allowed || (i >= start && i < start + length);
      if (!allowed && *ram(i) != static_cast<uint8_t>(i * 11 + 3)) {
        ADD_FAILURE() << "guest RAM changed at " << i;
        return;
      }
    }
  }
};

TEST_F(E1000HostileRx, BadRingBaseOrLengthHoldsFramesWithoutWriting) {
  canary();
  write(reg::kRctl, rctl::kEn | rctl::kBam | rctl::kSecrc);
  write(reg::kRdbal, static_cast<uint32_t>(kMemorySize - 64));  // ring runs off the end of RAM
  write(reg::kRdlen, 128);
  write(reg::kRdt, 3);
  backend_->queue(ipv4_frame(10, false));
  backend_->pump();
  write(reg::kRdbal, 0x10004);  // unaligned
  write(reg::kRdt, 3);
  backend_->pump();
  write(reg::kRdbal, 0x10000);
  write(reg::kRdlen, 0);
  write(reg::kRdt, 3);
  backend_->pump();
  // A ring the device cannot use is no place for frames: the backend is
  // not read (nothing is lost) and nothing is written.
  EXPECT_FALSE(backend_->interest);
  EXPECT_EQ(backend_->incoming.size(), 1u);
  EXPECT_EQ(device_->counters().rx_frames, 0u);
  expect_ram_untouched_except(0, 0, {});
  // Once the ring is sane the frame arrives.
  for (uint32_t i = 0; i < 8; ++i) put_obj<uint64_t>(kRxRing + 16 * i, kRxBuffers + 2048 * i);
  write(reg::kRdlen, 128);
  write(reg::kRdt, 3);
  backend_->pump();
  EXPECT_EQ(device_->counters().rx_frames, 1u);
}

TEST_F(E1000HostileRx, HeadOrTailBeyondRing) {
  canary();
  for (uint32_t i = 0; i < 8; ++i) put_obj<uint64_t>(kRxRing + 16 * i, kRxBuffers + 2048 * i);
  write(reg::kRdbal, static_cast<uint32_t>(kRxRing));
  write(reg::kRdlen, 128);
  write(reg::kRctl, rctl::kEn | rctl::kBam | rctl::kSecrc);
  write(reg::kRdh, 50);
  write(reg::kRdt, 3);
  backend_->queue(ipv4_frame(10, false));
  backend_->pump();
  write(reg::kRdh, 0);
  write(reg::kRdt, 1000);
  backend_->pump();
  EXPECT_EQ(device_->counters().rx_frames, 0u);
  EXPECT_EQ(backend_->incoming.size(), 1u) << "not read while the ring is unusable";
  write(reg::kRdt, 3);  // fixed: reading resumes
  backend_->pump();
  EXPECT_EQ(device_->counters().rx_frames, 1u);
  expect_ram_untouched_except(kRxRing, 8, {{kRxBuffers, 60}});
  // The buffer addresses themselves were not rewritten.
  EXPECT_EQ(get_obj<uint64_t>(kRxRing), kRxBuffers);
}

TEST_F(E1000HostileRx, BuffersOutsideRamAreNeverWritten) {
  canary();
  const uint64_t bad[] = {kMemorySize - 20, kMemorySize, 0xFFFFFFFFFFFFFFF0ull, 1ull << 40};
  for (uint32_t i = 0; i < 8; ++i) put_obj<uint64_t>(kRxRing + 16 * i, i < 4 ? bad[i] : kRxBuffers);
  write(reg::kRdbal, static_cast<uint32_t>(kRxRing));
  write(reg::kRdlen, 128);
  write(reg::kRctl, rctl::kEn | rctl::kBam | rctl::kSecrc);
  write(reg::kRdt, 7);
  for (int i = 0; i < 5; ++i) backend_->queue(ipv4_frame(10, false));
  backend_->pump();
  EXPECT_EQ(read(reg::kRdh), 5u) << "bad buffers consume their descriptor";
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rx_desc(i).status & (kDd | kEop), kDd | kEop);
    EXPECT_EQ(rx_desc(i).errors & 0x80, 0x80) << "RXE";
  }
  EXPECT_EQ(rx_desc(4).errors, 0);
  EXPECT_EQ(device_->counters().rx_buffer_errors, 4u);
  expect_ram_untouched_except(kRxRing, 8, {{kRxBuffers, 60}});
}

TEST_F(E1000HostileRx, FrameLargerThanWholeRingIsDroppedNotHeldForever) {
  setup_rx(8, rctl::kLpe | (3u << rctl::kBsizeShift));  // 256-byte buffers, 7 usable
  backend_->queue(ipv4_frame(4000, false));
  backend_->queue(ipv4_frame(10, false));
  backend_->pump();
  EXPECT_EQ(device_->counters().rx_dropped_oversize, 1u);
  EXPECT_EQ(read(reg::kRdh), 1u);
  EXPECT_TRUE(backend_->interest);
}

}  // namespace
}  // namespace keel::devices::e1000::test
