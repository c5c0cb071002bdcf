// A guest that writes random values to the registers that steer DMA and
// random bytes into its rings, while frames arrive: keel must neither
// crash nor write outside guest RAM (the fixture's RAM is the whole
// region, so any write the checked API refuses would be a crash here under
// sanitizers), and the device must keep answering.
#include <random>

#include "tests/unit/devices/e1000/e1000_test_support.h"

namespace keel::devices::e1000::test {
namespace {

TEST_F(E1000Test, RandomGuestDoesNotBreakTheDevice) {
  std::mt19937_64 random(20261203);
  const uint32_t registers[] = {reg::kCtrl,  reg::kRctl,  reg::kTctl,  reg::kRdbal, reg::kRdbah, reg::kRdlen,
                                reg::kRdh,   reg::kRdt,   reg::kTdbal, reg::kTdbah, reg::kTdlen, reg::kTdh,
                                reg::kTdt,   reg::kIms,   reg::kIcs,   reg::kRdtr,  reg::kRadv,  reg::kRxcsum,
                                reg::kEecd,  reg::kEerd,  reg::kMdic,  reg::kVet,   reg::kRsrpd, reg::kIcr};
  auto small_address = [&] { return static_cast<uint32_t>(random() % kMemorySize) & ~0xFu; };
  for (int round = 0; round < 20000; ++round) {
    const uint32_t offset = registers[random() % std::size(registers)];
    uint32_t value = static_cast<uint32_t>(random());
    switch (random() % 4) {
      case 0:
      case 1:
      case 2:  // plausible values make deeper paths reachable
        if (offset == reg::kRdbal || offset == reg::kTdbal) value = small_address();
        if (offset == reg::kRdbah || offset == reg::kTdbah) value = 0;
        if (offset == reg::kRdlen || offset == reg::kTdlen) value = 128 * (1 + random() % 8);
        if (offset == reg::kRdh || offset == reg::kRdt || offset == reg::kTdh || offset == reg::kTdt) value %= 64;
        if (offset == reg::kCtrl) value &= ~ctrl::kRst;
        break;
      default:
        break;
    }
    write(offset, value);
    if (round % 2 == 0) {
      // Scribble descriptors where the rings are: pointers into and out of
      // RAM, random lengths and commands.
      const uint32_t base = read(random() % 2 ? reg::kRdbal : reg::kTdbal);
      const uint64_t at = uint64_t{base} + 16 * (random() % 64);
      std::array<uint8_t, 16> d{};
      for (auto& b : d) b = static_cast<uint8_t>(random());
      const uint64_t buffer = (random() % 2) ? random() % kMemorySize : random();
      std::memcpy(d.data(), &buffer, 8);
      if (random() % 2) {
        // Extended descriptors: contexts (often TSO) and data with EOP.
        d[10] = static_cast<uint8_t>((random() % 2 ? 0x10 : 0x00) | (d[10] & 0x01));
        d[11] |= 0x20 | (random() % 2 ? 0x05 : 0x00);
        d[13] = static_cast<uint8_t>(d[13] % 80);
        d[15] = static_cast<uint8_t>(d[15] % 8);
      }
      if (at + 16 <= kMemorySize) put(at, Bytes(d.begin(), d.end()));
    }
    if (round % 5 == 0) {
      Bytes frame = ipv4_frame(random() % 2000, random() % 2);
      if (random() % 3 == 0) frame[0] = 0xFF;
      backend_->queue(frame);
      backend_->pump(2);
    }
    (void)read(reg::kIcr);
    if (backend_->sent.size() > 10000) backend_->sent.clear();
  }
  // The random guest reached the deep paths, not only the register checks.
  const E1000Counters seen = device_->counters();
  EXPECT_GT(seen.rx_frames, 0u);
  EXPECT_GT(seen.tx_frames, 0u);
  EXPECT_GT(seen.tx_bad_tso, 0u);
  EXPECT_GT(seen.rx_buffer_errors, 0u);
  // Still a working NIC after a reset.
  write(reg::kCtrl, ctrl::kRst);
  backend_->incoming.clear();
  setup_rx(8);
  backend_->queue(ipv4_frame(100, false));
  backend_->pump();
  EXPECT_EQ(rx_desc(0).status & 3, 3);
}

}  // namespace
}  // namespace keel::devices::e1000::test
