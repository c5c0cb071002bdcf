// Fuzz target: the e1000 NIC (devices/e1000) through its register file and
// rings in random guest RAM. The device runs over the e1000 unit tests'
// FakeBackend (tests/unit/devices/e1000/e1000_fake_backend.h), a fake
// clock and timers, and a fake INTx line. The script writes and reads BAR0
// registers (mostly the ones a driver programs, ring bases inside guest
// RAM; any offset and width too), uses the BAR1 I/O window, hands the
// backend frames of any content and length, moves time (the interrupt
// delay timers), toggles backend back-pressure, touches config space and
// races the device with guest writes to RAM.
//
// Input: [ram size u16, base u8][frame pool length u16][script_len u8]
//        [script: 8 bytes/op][frame pool][RAM image].
//
// Invariants, beyond "no crash": frames sent are exactly the frames the
// backend accepted; frames written to the guest are never more than the
// frames the backend handed over; config space still answers with the
// vendor and device id (8086:100E); nothing outside guest RAM is touched
// (guard pages + slack check).
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>

#include "devices/e1000/e1000.h"
#include "devices/e1000/e1000_regs.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/guarded_ram.h"
#include "tests/support/fakes.h"
#include "tests/unit/devices/e1000/e1000_fake_backend.h"

namespace {

using keel::fuzz::FuzzInput;
using keel::fuzz::GuardedRam;
namespace e1000 = keel::devices::e1000;
namespace reg = keel::devices::e1000::reg;

constexpr size_t kMaxRam = 64 * 1024;
constexpr std::array<uint8_t, 6> kMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr std::array<size_t, 4> kWidths{1, 2, 4, 8};

// The registers a driver programs; ring bases get guest RAM addresses.
constexpr std::array<uint32_t, 32> kRegisters{
    reg::kCtrl,  reg::kStatus, reg::kEecd,  reg::kEerd,  reg::kMdic,  reg::kIcr,   reg::kItr,   reg::kIcs,
    reg::kIms,   reg::kImc,    reg::kRctl,  reg::kTctl,  reg::kRdbal, reg::kRdbah, reg::kRdlen, reg::kRdh,
    reg::kRdt,   reg::kRdtr,   reg::kRadv,  reg::kTdbal, reg::kTdbah, reg::kTdlen, reg::kTdh,   reg::kTdt,
    reg::kTidv,  reg::kTadv,   reg::kRxcsum, reg::kMta,  reg::kRa,    reg::kRa + 4, reg::kCtrlExt, reg::kTxdctl};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const auto [base, ram_size] = keel::fuzz::choose_ram(in, kMaxRam);
  GuardedRam ram(base, ram_size);
  const size_t pool_size = in.u16() % 4097;
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * 8));
  const auto pool = in.bytes(pool_size);
  ram.load(in.rest());

  keel::testing::FakeClock clock;
  auto owned = std::make_unique<e1000::test::FakeBackend>();
  e1000::test::FakeBackend& backend = *owned;
  keel::devices::E1000 device(std::move(owned), kMac, ram.memory(), clock, clock);
  device.connect_intx(std::make_shared<keel::testing::FakeIrqLine>());

  auto write = [&](uint8_t bar, uint64_t offset, size_t width, uint64_t value) {
    std::array<std::byte, 8> bytes{};
    for (size_t i = 0; i < 8; ++i) bytes[i] = std::byte(value >> (8 * i));
    device.bar_write(bar, offset, std::span(bytes).first(width));
  };
  auto read = [&](uint8_t bar, uint64_t offset, size_t width) {
    std::array<std::byte, 8> bytes{};
    device.bar_read(bar, offset, std::span(bytes).first(width));
  };
  auto config_dword = [&](uint16_t offset) {
    uint32_t value = 0;
    device.config_read(offset, std::as_writable_bytes(std::span(&value, 1)));
    return value;
  };
  uint64_t frames_offered = 0;

  while (!script.empty()) {
    FuzzInput op(script.bytes(8));
    const uint8_t kind = op.u8();
    switch (kind % 8) {
      case 0:
      case 1: {  // a driver's register write (ring bases and lengths inside RAM)
        const uint32_t offset = kRegisters[op.u8() % kRegisters.size()];
        uint32_t value = op.u32();
        if ((kind & 0x80) != 0 && (offset == reg::kRdbal || offset == reg::kTdbal)) {
          value = static_cast<uint32_t>(base + (value % (ram_size + 64)));
          if ((kind & 0x40) == 0) value &= ~uint32_t{0xF};
        } else if ((kind & 0x80) != 0 && (offset == reg::kRdlen || offset == reg::kTdlen)) {
          value = (value % 64 + 1) * 128;  // 8..512 descriptors, as the register demands
        } else if ((kind & 0x80) != 0 && (offset == reg::kRdbah || offset == reg::kTdbah)) {
          value = 0;
        }
        write(e1000::kMmioBar, offset, 4, value);
        break;
      }
      case 2: {  // any BAR0 access, any offset and width
        const uint64_t offset = op.u32() % (e1000::kMmioBarSize + 16);
        const size_t width = kWidths[op.u8() % 4];
        if ((kind & 0x80) != 0) {
          write(e1000::kMmioBar, offset, width, op.u16() | uint64_t{op.u8()} << 16);
        } else {
          read(e1000::kMmioBar, offset, width);
        }
        break;
      }
      case 3: {  // the I/O window: IOADDR then IODATA, or anything in BAR1
        const uint64_t offset = op.u8() % (e1000::kIoBarSize + 4);
        const size_t width = kWidths[op.u8() % 4];
        const uint32_t value = op.u32();
        if ((kind & 0x80) != 0) {
          write(e1000::kIoBar, offset, width, value);
        } else {
          read(e1000::kIoBar, offset, width);
        }
        break;
      }
      case 4: {  // the backend gets a frame (content from the pool), the loop serves it
        size_t length = 1 + op.u16() % 2048;  // an empty frame would make the fake memcpy from null
        if ((kind & 0x80) != 0) length = keel::net::kVnetHeaderSize + 16384 + op.u8();
        const uint8_t start = op.u8();
        e1000::test::Bytes frame(length);
        for (size_t i = 0; i < length && !pool.empty(); ++i) frame[i] = pool[(start + i) % pool.size()];
        if (backend.incoming.size() < 64) {
          backend.incoming.push_back(std::move(frame));
          ++frames_offered;
        }
        if (backend.listener() != nullptr) backend.pump(1 + op.u8() % 4);
        break;
      }
      case 5:  // time passes: the interrupt delay timers
        clock.advance(std::chrono::microseconds(op.u16()));
        break;
      case 6: {  // the guest writes a byte anywhere
        const uint64_t offset = op.u16() % ram_size;
        ram.bytes()[offset] = std::byte{op.u8()};
        break;
      }
      default: {  // back-pressure, and config space at any offset and width
        backend.would_block = (op.u8() & 1) != 0;
        device.send_possible();
        const uint16_t offset = op.u16() % keel::devices::kPciConfigSpaceSize;
        const size_t width = kWidths[op.u8() % 4];
        if (offset + width <= keel::devices::kPciConfigSpaceSize) {
          std::array<std::byte, 8> bytes{};
          const uint32_t value = op.u32();
          std::memcpy(bytes.data(), &value, sizeof(value));
          if ((kind & 0x80) != 0) {
            device.config_write(offset, std::span(bytes).first(width));
          } else {
            device.config_read(offset, std::span(bytes).first(width));
          }
        }
        break;
      }
    }
    const keel::devices::E1000Counters counters = device.counters();
    FUZZ_CHECK(counters.tx_frames == backend.sent.size(), "frames sent are the frames the backend accepted");
    FUZZ_CHECK(counters.rx_frames <= frames_offered - backend.incoming.size(),
               "frames given to the guest were handed over by the backend");
  }
  FUZZ_CHECK(config_dword(0) == 0x100E8086u, "config space still answers with 8086:100E");
  FUZZ_CHECK(ram.slack_intact(), "nothing written below guest RAM");
  return 0;
}
