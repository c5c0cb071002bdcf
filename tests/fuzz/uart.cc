// Fuzz target: the 8250/16550A UART (devices/uart Uart8250) on a fake IRQ
// line and a recording output sink. The script mixes register reads and
// writes at any offset 0..7 and width 1/2/4/8 that stays inside the eight
// ports (as the bus passes them), structured driver steps (DLAB on/off
// with divisor bytes, FCR with any trigger/clear bits, MCR with loopback,
// OUT2, modem lines), host input bursts of random bytes, and a polling
// drain (LSR.DR, then RBR) as a driver's receive loop does.
//
// Input: [op count u8][ops: 10 bytes each][host input pool: the rest].
// An input op takes its bytes from the pool in order.
//
// Invariants, beyond "no crash":
//  - the sink receives exactly the bytes written to THR with DLAB clear
//    and loopback off, in order, and nothing else;
//  - LCR, MCR (bits 4:0), SCR, IER (bits 3:0, DLAB clear) and the divisor
//    latch (DLAB set) read back what was written;
//  - the IRQ line is high only with OUT2 set and loopback off; an IIR read
//    reports a cause consistent with the line just before it (line high
//    <=> gate open and a cause pending), whose IER enable bit is set;
//    IIR bits 7:6 say whether FIFOs are on, bits 5:4 read 0, the character
//    timeout (0xC) only with FIFOs on;
//  - LSR: THRE and TEMT always set, PE/FE/BI/bit 7 never;
//  - MSR: outside loopback CTS, DSR, DCD high and RI low; in loopback the
//    lines follow RTS, DTR, OUT1, OUT2;
//  - the RX FIFO never holds more than its capacity: in loopback (where
//    host input waits) a drain reads at most 16 bytes with FIFOs on and 1
//    without;
//  - until loopback is first used, every byte the guest receives is the
//    next host input byte or a later one (a subsequence: bytes are dropped
//    only by a full host buffer or a FIFO clear, never reordered or made up);
//  - the dropped-input counter never exceeds the host bytes given.
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "devices/uart/uart_8250.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/support/fakes.h"

namespace {

using keel::fuzz::FuzzInput;

constexpr size_t kOpBytes = 10;
constexpr std::array<size_t, 4> kWidths{1, 2, 4, 8};

constexpr uint64_t kThr = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;
constexpr uint8_t kDlab = 0x80;
constexpr uint8_t kOut2 = 0x08, kLoop = 0x10;

class Harness {
 public:
  Harness() : uart_(irq_, sink_) {}

  uint8_t read_byte(uint64_t reg) {
    std::byte value{};
    uart_.read(reg, std::span(&value, 1));
    return std::to_integer<uint8_t>(value);
  }
  void write_byte(uint64_t reg, uint8_t value) { write(reg, std::array<uint8_t, 1>{value}); }

  // A write at any width: the shadow follows byte by byte, as the UART does.
  void write(uint64_t offset, std::span<const uint8_t> bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) shadow_write(offset + i, bytes[i]);
    uart_.write(offset, std::as_bytes(bytes));
  }

  void shadow_write(uint64_t reg, uint8_t value) {
    const bool dlab = (lcr_ & kDlab) != 0;
    switch (reg) {
      case kThr:
        if (dlab) {
          divisor_ = static_cast<uint16_t>((divisor_ & 0xFF00) | value);
        } else if (!(mcr_ & kLoop)) {
          expected_output_.push_back(std::byte{value});
        }
        break;
      case kIer:
        if (dlab) {
          divisor_ = static_cast<uint16_t>((divisor_ & 0x00FF) | (value << 8));
        } else {
          ier_ = value & 0x0F;
        }
        break;
      case kIir: fifos_ = (value & 1) != 0; break;
      case kLcr: lcr_ = value; break;
      case kMcr:
        mcr_ = value & 0x1F;
        if (mcr_ & kLoop) loopback_used_ = true;
        break;
      case kScr: scr_ = value; break;
      default: break;
    }
  }

  void check_iir(uint8_t iir, bool line_before) {
    const uint8_t id = iir & 0x0F;
    FUZZ_CHECK((iir & 0x30) == 0, "IIR bits 5:4 read 0");
    FUZZ_CHECK(((iir & 0xC0) == 0xC0) == fifos_ && ((iir & 0xC0) == 0 || (iir & 0xC0) == 0xC0),
               "IIR bits 7:6 say whether the FIFOs are on");
    FUZZ_CHECK(id == 1 || id == 0 || id == 2 || id == 4 || id == 6 || id == 0xC, "IIR holds a defined cause");
    FUZZ_CHECK(id != 0xC || fifos_, "a character timeout only with FIFOs on");
    if (id == 6) FUZZ_CHECK(ier_ & 0x04, "a line status cause needs ELSI");
    if (id == 4 || id == 0xC) FUZZ_CHECK(ier_ & 0x01, "a data cause needs ERBFI");
    if (id == 2) FUZZ_CHECK(ier_ & 0x02, "a THRE cause needs ETBEI");
    if (id == 0) FUZZ_CHECK(ier_ & 0x08, "a modem status cause needs EDSSI");
    const bool gate = (mcr_ & kOut2) && !(mcr_ & kLoop);
    FUZZ_CHECK(line_before == (gate && id != 1), "the IRQ line matches the pending cause and the OUT2 gate");
  }

  // Receives one byte through LSR.DR / RBR; false when none was ready.
  bool receive_one() {
    if (lcr_ & kDlab) return false;  // offset 0 is the divisor latch now
    const uint8_t lsr = read_byte(kLsr);
    check_lsr(lsr);
    if (!(lsr & 1)) return false;
    const uint8_t byte = read_byte(kThr);
    if (!loopback_used_) {
      while (host_cursor_ < host_input_.size() && host_input_[host_cursor_] != byte) ++host_cursor_;
      FUZZ_CHECK(host_cursor_ < host_input_.size(), "received bytes are host input, in order");
      ++host_cursor_;
    }
    return true;
  }

  void check_lsr(uint8_t lsr) {
    FUZZ_CHECK((lsr & 0x60) == 0x60, "THRE and TEMT always read 1 (instant transmit)");
    FUZZ_CHECK((lsr & 0x9C) == 0, "parity, framing, break and the FIFO error bit never appear");
  }

  void run(FuzzInput& op, FuzzInput& pool) {
    const uint8_t kind = op.u8();
    switch (kind % 10) {
      case 0:
      case 1: {  // raw write at any offset/width inside the ports
        const uint64_t offset = op.u8() % 8;
        const size_t width = kWidths[op.u8() % 4];
        const auto bytes = op.bytes(8);
        std::array<uint8_t, 8> value{};
        std::memcpy(value.data(), bytes.data(), bytes.size());
        if (offset + width <= 8) write(offset, std::span(value).first(width));
        break;
      }
      case 2: {  // raw read at any offset/width
        const uint64_t offset = op.u8() % 8;
        const size_t width = kWidths[op.u8() % 4];
        if (offset + width > 8) break;
        const bool line = irq_->level();
        std::array<std::byte, 8> value{};
        uart_.read(offset, std::span(value).first(width));
        if (offset == kIir && width == 1) check_iir(std::to_integer<uint8_t>(value[0]), line);
        if (offset == kLsr && width == 1) check_lsr(std::to_integer<uint8_t>(value[0]));
        break;
      }
      case 3: {  // divisor latch: DLAB on, both bytes, DLAB off with a line format
        const uint8_t format = op.u8();
        write_byte(kLcr, static_cast<uint8_t>(format | kDlab));
        write_byte(kThr, op.u8());
        write_byte(kIer, op.u8());
        FUZZ_CHECK(read_byte(kThr) == (divisor_ & 0xFF) && read_byte(kIer) == (divisor_ >> 8),
                   "the divisor latch reads back");
        write_byte(kLcr, format & 0x7F);
        break;
      }
      case 4: write_byte(kIir, op.u8()); break;  // FCR
      case 5: write_byte(kMcr, op.u8()); break;
      case 6: write_byte(kIer, op.u8()); break;
      case 7: {  // host input burst
        const auto bytes = pool.bytes(op.u8());
        host_input_.insert(host_input_.end(), bytes.begin(), bytes.end());
        uart_.receive(std::as_bytes(bytes));
        break;
      }
      case 8: {  // the driver's receive loop
        const size_t limit = op.u8();
        const bool loop = (mcr_ & kLoop) != 0;
        size_t received = 0;
        while (received < limit && receive_one()) ++received;
        if (loop && received < limit) {
          FUZZ_CHECK(received <= (fifos_ ? 16u : 1u), "the RX FIFO never holds more than its capacity");
        }
        break;
      }
      default: {  // IIR as an interrupt handler reads it
        const bool line = irq_->level();
        check_iir(read_byte(kIir), line);
        break;
      }
    }
  }

  void check() {
    FUZZ_CHECK(sink_->bytes() == expected_output_, "the sink gets exactly the THR bytes written outside loopback");
    const bool gate = (mcr_ & kOut2) && !(mcr_ & kLoop);
    FUZZ_CHECK(!irq_->level() || gate, "the IRQ line is high only with OUT2 set and loopback off");
    FUZZ_CHECK(read_byte(kLcr) == lcr_, "LCR reads back");
    FUZZ_CHECK(read_byte(kMcr) == mcr_, "MCR reads back");
    FUZZ_CHECK(read_byte(kScr) == scr_, "SCR reads back");
    if (!(lcr_ & kDlab)) {
      FUZZ_CHECK(read_byte(kIer) == ier_, "IER reads back");
    } else {
      FUZZ_CHECK(read_byte(kIer) == (divisor_ >> 8), "DLM reads back");
    }
    FUZZ_CHECK(uart_.dropped_input_bytes() <= host_input_.size(), "no more drops than host bytes");
  }

  // MSR reads clear its delta bits (and so may change the IRQ): checked as
  // its own step.
  void check_msr() {
    const uint8_t lines = read_byte(kMsr) & 0xF0;
    if (!(mcr_ & kLoop)) {
      FUZZ_CHECK(lines == 0xB0, "outside loopback CTS, DSR and DCD are high, RI low");
    } else {
      const uint8_t expected = static_cast<uint8_t>(((mcr_ & 0x02) ? 0x10 : 0) | ((mcr_ & 0x01) ? 0x20 : 0) |
                                                    ((mcr_ & 0x04) ? 0x40 : 0) | ((mcr_ & 0x08) ? 0x80 : 0));
      FUZZ_CHECK(lines == expected, "in loopback the modem lines follow MCR");
    }
  }

 private:
  std::shared_ptr<keel::testing::FakeIrqLine> irq_ = std::make_shared<keel::testing::FakeIrqLine>();
  std::shared_ptr<keel::testing::RecordingSink> sink_ = std::make_shared<keel::testing::RecordingSink>();
  keel::devices::Uart8250 uart_;
  std::vector<std::byte> expected_output_;
  std::vector<uint8_t> host_input_;
  size_t host_cursor_ = 0;
  bool loopback_used_ = false;
  bool fifos_ = false;
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0;
  uint16_t divisor_ = 12;  // the reset divisor (9600 baud)
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * kOpBytes));
  FuzzInput pool(in.rest());

  Harness harness;
  harness.check();
  while (!script.empty()) {
    FuzzInput op(script.bytes(kOpBytes));
    harness.run(op, pool);
    harness.check();
    if (op.flag()) harness.check_msr();
  }
  return 0;
}
