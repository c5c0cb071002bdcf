// The e1000 allocates nothing on the guest's behalf (issue 9: allocations
// on noexcept guest paths): the packet, segment, VLAN and backlog buffers
// are reserved at construction to the bounds tx_append, validate_tso and
// rx_frame enforce. Counted with a replaced operator new
// (tests/support/allocation_counter); the fake backend and the test's own
// set-up allocate outside the counted calls.
#include <spdlog/spdlog.h>

#include "tests/support/allocation_counter.h"
#include "tests/unit/devices/e1000/e1000_test_support.h"

namespace keel::devices::e1000::test {
namespace {

using keel::testing::allocations_in;

constexpr uint8_t kEop = 0x01, kTse = 0x04, kRs = 0x08, kVle = 0x40;
constexpr uint8_t kIxsm = 0x01, kTxsm = 0x02;
constexpr uint8_t kTucmdTcp = 0x01, kTucmdIp = 0x02, kTucmdTse = 0x04;

class E1000BoundedAllocation : public E1000Test {};

// TSO packets of ~64 KiB at the smallest MSS (48: 1,355 segments each),
// VLAN-tagged, sent while the backend is full: every segment waits in the
// backlog. They used to be a deque of vectors (an allocation or two per
// segment) behind a std::function that allocated per packet.
TEST_F(E1000BoundedAllocation, TsoFloodIntoAFullBackendAllocatesNothing) {
  write(reg::kCtrl, read(reg::kCtrl) | ctrl::kVme);
  setup_tx(64);
  constexpr size_t kPayload = 65000;
  constexpr uint16_t kMss = 48;
  constexpr size_t kSegments = (kPayload + kMss - 1) / kMss;
  Bytes packet = ipv4_frame(kPayload, true);
  set_be16(packet, 24, 0);
  set_be16(packet, 50, pseudo_seed(packet, false));
  put(kTxBuffers, packet);
  uint64_t allocated = 0;
  size_t sent = 0;
  for (int round = 0; round < 5; ++round) {
    tx_put(context(14, 24, 33, 34, 50, 0, kPayload, kTucmdTcp | kTucmdIp | kTucmdTse, 54, kMss));
    tx_put(data(kTxBuffers, 54, kTse, kIxsm | kTxsm));
    for (size_t offset = 54; offset < packet.size(); offset += 4096) {
      const size_t n = std::min<size_t>(4096, packet.size() - offset);
      const bool last = offset + n == packet.size();
      auto d = data(kTxBuffers + offset, static_cast<uint32_t>(n), kTse | (last ? kEop | kRs | kVle : 0),
                    kIxsm | kTxsm);
      d[14] = 0x07;  // VLAN 7
      tx_put(d);
    }
    backend_->would_block = true;
    allocated += allocations_in([&] { tx_kick(); });
    EXPECT_EQ(backend_->sent.size(), sent) << "everything waits while the backend is full";
    backend_->sent.reserve(sent + kSegments);  // the fake's record, outside the count
    backend_->headers.reserve(sent + kSegments);
    backend_->would_block = false;
    backend_->listener()->send_possible();
    sent += kSegments;
    ASSERT_EQ(backend_->sent.size(), sent);
  }
  EXPECT_EQ(allocated, 0u);
  EXPECT_EQ(device_->counters().tx_dropped, 0u);
  // The backlog kept every segment whole and in order, tag inserted.
  const Bytes& last = backend_->sent.back();
  EXPECT_EQ(be16(last, 12), 0x8100);
  EXPECT_EQ(last.size(), 4 + 54 + (kPayload - (kSegments - 1) * kMss));
}

// A frame arriving when the guest's rx descriptors have run out waits in
// rx_held_ until the guest posts more; the first one used to allocate it.
TEST_F(E1000BoundedAllocation, RxFramesHeldForBuffersAllocateNothing) {
  setup_rx(16, 0, 0);  // RDT == RDH: nothing posted yet
  uint64_t allocated = 0;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 3; ++i) backend_->queue(ipv4_frame(1400, false));
    const uint32_t head = read(reg::kRdh);
    allocated += allocations_in([&] {
      write(reg::kRdt, (head + 2) % 16);  // two descriptors: the third frame is held
      backend_->pump(1);
      write(reg::kRdt, (head + 3) % 16);  // one more: the held frame goes in
    });
  }
  EXPECT_EQ(allocated, 0u);
  EXPECT_EQ(device_->counters().rx_frames, 600u);
  EXPECT_GE(read(stat::kRnbc), 200u) << "each round ran out of descriptors once";
}

}  // namespace
}  // namespace keel::devices::e1000::test
