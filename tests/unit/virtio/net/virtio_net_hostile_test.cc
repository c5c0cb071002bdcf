// Randomized hostile rings on all three queues at once: plausible chains
// with random contents (headers, commands, lengths), then random
// corruption of descriptors and ring indices. keel must never write outside
// guest RAM, never crash, and once it raised NEEDS_RESET must not touch
// guest memory again. Deterministic seed, so a failure reproduces.
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/virtio/net/net_fixture.h"

namespace keel::virtio::net::testing {
namespace {

class HostileTest : public NetTest {
 protected:
  HostileTest()
      : NetTest({.tx = {true, true, true, true, true}, .rx = {true, true, true, true, true}}) {}

  std::mt19937_64 random_{0x6e657431};  // "net1"
  uint64_t pick(uint64_t below) { return std::uniform_int_distribution<uint64_t>(0, below - 1)(random_); }

  static constexpr uint64_t kDataEnd = 2 << 20;  // random chains' buffers live below

  uint64_t address() {
    switch (pick(6)) {
      case 0: return kRamSize - pick(64);
      case 1: return 0xFFFF'FFFF'FFFF'FFFF - pick(64);
      case 2: return random_();
      default: return FakeDriver::kDataStart + pick(kDataEnd - FakeDriver::kDataStart);
    }
  }
  uint32_t length() {
    switch (pick(6)) {
      case 0: return 0;
      case 1: return static_cast<uint32_t>(random_());
      case 2: return static_cast<uint32_t>(pick(16));
      default: return static_cast<uint32_t>(pick(4096));
    }
  }
  // A chain inside RAM: `readable` then `writable` random-sized buffers.
  void plausible_chain(FakeDriver& driver, int readable, int writable) {
    std::vector<Segment> segments;
    for (int i = 0; i < readable + writable; ++i) {
      const uint32_t len = static_cast<uint32_t>(1 + pick(pick(4) == 0 ? 70000 : 200));
      const uint64_t at = FakeDriver::kDataStart + pick(kDataEnd - FakeDriver::kDataStart - len);
      segments.push_back(Segment{at, len, i >= readable});
    }
    // Half the tx chains start with a clean header so frames get through.
    if (&driver == &tx() && pick(2) == 0 && segments[0].len >= kVnetHeaderSize) {
      std::memset(ram.host() + segments[0].addr, 0, kVnetHeaderSize);
    }
    driver.add_chain(segments);
  }
  void randomize_data() {
    for (uint64_t at = FakeDriver::kDataStart; at < kDataEnd; at += 8) ram.poke(at, random_());
    // Some tx headers and ctrl headers plausible enough to go further in.
    for (int i = 0; i < 200; ++i) {
      const uint64_t at = FakeDriver::kDataStart + pick(kDataEnd - FakeDriver::kDataStart - 16);
      if (pick(2) == 0) {
        std::memset(ram.host() + at, 0, kVnetHeaderSize);
      } else {
        ram.host()[at] = std::byte(static_cast<uint8_t>(pick(7)));
        ram.host()[at + 1] = std::byte(static_cast<uint8_t>(pick(7)));
      }
    }
  }
  void corrupt(FakeDriver& driver) {
    const int count = static_cast<int>(pick(4));
    for (int i = 0; i < count; ++i) {
      driver.write_descriptor(static_cast<uint16_t>(pick(kQueueSize)),
                              {address(), length(), static_cast<uint16_t>(pick(8)),
                               static_cast<uint16_t>(pick(4) == 0 ? random_() : pick(kQueueSize))});
    }
    if (pick(8) == 0) driver.set_avail_idx(static_cast<uint16_t>(random_()));
    if (pick(8) == 0) driver.set_avail_flags(static_cast<uint16_t>(random_()));
    if (pick(8) == 0) driver.set_used_event(static_cast<uint16_t>(random_()));
  }
  void run_everything() {
    notify(kTxQueue);
    notify(kCtrlQueue);
    notify(kRxQueue);
    backend->block_sends = static_cast<int>(pick(3));
    backend->pump(20);
    net->send_possible();
    notify(kTxQueue);
    notify(kRxQueue);
  }
};

TEST_F(HostileTest, RandomRingsNeverWriteOutsideGuestRamNorAfterNeedsReset) {
  int broken_rounds = 0;
  for (int round = 0; round < 150; ++round) {
    device_reset();
    for (auto& queue : context.queues) queue.reset();
    context.resets.clear();
    std::memset(ram.host(), 0, ram.size());
    randomize_data();
    uint64_t features = kBaseFeatures | (random_() & (net::feature::kCsum | net::feature::kHostTso4 |
                                                     net::feature::kHostTso6 | net::feature::kHostEcn |
                                                     net::feature::kHostUfo | net::feature::kGuestCsum |
                                                     net::feature::kGuestTso4 | net::feature::kGuestTso6 |
                                                     net::feature::kGuestEcn | net::feature::kGuestUfo |
                                                     net::feature::kMrgRxbuf));
    if (pick(2) == 0) features |= virtio::feature::kRingEventIdx;
    if (pick(2) == 0) features |= virtio::feature::kRingIndirectDesc;
    start(features);
    for (int i = 0; i < 20; ++i) plausible_chain(tx(), 1 + static_cast<int>(pick(3)), static_cast<int>(pick(2)));
    for (int i = 0; i < 20; ++i) plausible_chain(ctrl(), static_cast<int>(pick(3)), static_cast<int>(pick(3)));
    for (int i = 0; i < 20; ++i) plausible_chain(rx(), static_cast<int>(pick(2)), 1 + static_cast<int>(pick(3)));
    for (int i = 0; i < 10; ++i) {
      Frame frame(kVnetHeaderSize + 14 + pick(3000));
      for (auto& b : frame) b = std::byte(static_cast<uint8_t>(random_()));
      if (pick(2) == 0) std::memset(frame.data(), 0, kVnetHeaderSize);
      if (pick(2) == 0) std::memcpy(frame.data() + kVnetHeaderSize, kOwnMac.data(), 6);
      backend->inbox.push_back(std::move(frame));
    }
    if (pick(2) == 0) {
      corrupt(tx());
      corrupt(rx());
      corrupt(ctrl());
    }
    run_everything();
    ASSERT_TRUE(ram.guards_intact()) << "round " << round;
    if (!context.resets.empty()) {
      ++broken_rounds;
      // NEEDS_RESET: more doorbells and callbacks leave guest memory alone.
      plausible_chain(rx(), 0, 1);
      plausible_chain(tx(), 1, 0);
      const auto before = ram.snapshot();
      run_everything();
      ASSERT_TRUE(ram.snapshot() == before) << "round " << round << ": wrote guest RAM after NEEDS_RESET";
    }
    backend->inbox.clear();
  }
  // The corruption must actually have broken some rings, and not all.
  EXPECT_GT(broken_rounds, 10);
  EXPECT_LT(broken_rounds, 150);
  const NetStats stats = net->stats();
  EXPECT_GT(stats.tx_frames + stats.tx_dropped_bad_header + stats.tx_dropped_short, 0u);
  EXPECT_GT(stats.ctrl_commands + stats.ctrl_malformed, 0u);
  EXPECT_GT(stats.tx_frames, 0u);
  EXPECT_GT(stats.rx_frames, 0u);
}

}  // namespace
}  // namespace keel::virtio::net::testing
