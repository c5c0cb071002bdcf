// 16550A UART register model. Register semantics follow the National
// Semiconductor PC16550D datasheet; where the datasheet leaves room, the
// behaviour matches what Linux's 8250 driver probes for and what QEMU's
// hw/char/serial.c does.
//
// Deliberate simplifications, each invisible to a driver that follows the
// datasheet:
//  - Transmission is instantaneous: a THR write reaches the CharSink (or the
//    RX side in loopback) at once, so THRE and TEMT read back as 1 and the
//    transmit FIFO is always empty.
//  - There is no baud-rate clock, so the character-timeout indication (IIR
//    0xC) is raised as soon as data sits in the RX FIFO below the trigger
//    level, instead of after 4 character times as on hardware (QEMU arms a
//    timer). A driver sees the same thing it would after a short wait: data
//    below the trigger level is reported as a timeout and must be drained.
//  - Parity, framing and break are never generated: PE, FE, BI and LSR bit 7
//    read 0. Only overrun (OE) can happen, and only in loopback, because host
//    input is flow-controlled by the host-side buffer.
//  - The modem inputs outside loopback are fixed at CTS, DSR and DCD
//    asserted and RI deasserted (a null-modem cable to a ready terminal, as
//    QEMU reports when its backend has no modem lines).
#include "devices/uart/uart_8250.h"

#include <memory>

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

#include "keel/byte_fifo.h"
#include "keel/config_error.h"

namespace keel::devices {

namespace {

// Register offsets. With LCR.DLAB set, offsets 0 and 1 are the divisor latch.
constexpr uint64_t kRbrThr = 0;  // DLL when DLAB
constexpr uint64_t kIer = 1;     // DLM when DLAB
constexpr uint64_t kIirFcr = 2;
constexpr uint64_t kLcr = 3;
constexpr uint64_t kMcr = 4;
constexpr uint64_t kLsr = 5;
constexpr uint64_t kMsr = 6;
constexpr uint64_t kScr = 7;

constexpr uint8_t kIerRxData = 0x01;      // ERBFI
constexpr uint8_t kIerThre = 0x02;        // ETBEI
constexpr uint8_t kIerLineStatus = 0x04;  // ELSI
constexpr uint8_t kIerModemStatus = 0x08; // EDSSI
constexpr uint8_t kIerWritable = 0x0f;    // bits 7:4 are always 0 on a 16550A

constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kIirModemStatus = 0x00;
constexpr uint8_t kIirThre = 0x02;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirCharTimeout = 0x0c;
constexpr uint8_t kIirFifosEnabled = 0xc0;

constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
constexpr uint8_t kFcrDmaMode = 0x08;
constexpr uint8_t kFcrTriggerMask = 0xc0;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrWritable = 0x1f;

constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrThre = 0x20;
constexpr uint8_t kLsrTemt = 0x40;

constexpr uint8_t kMsrDeltaCts = 0x01;
constexpr uint8_t kMsrDeltaDsr = 0x02;
constexpr uint8_t kMsrTrailingEdgeRi = 0x04;
constexpr uint8_t kMsrDeltaDcd = 0x08;
constexpr uint8_t kMsrDeltaMask = 0x0f;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;

constexpr uint8_t kExternalModemLines = kMsrCts | kMsrDsr | kMsrDcd;

constexpr size_t kFifoDepth = 16;
constexpr std::array<size_t, 4> kRxTriggerLevels = {1, 4, 8, 14};

// Divisor at reset: the datasheet leaves it undefined; 12 is 9600 baud with
// the PC's 1.8432 MHz clock, what QEMU and most firmware start from.
constexpr uint16_t kResetDivisor = 12;

constexpr uint8_t kAllOnes = 0xff;

// Bytes a single bus access can transmit (one per THR byte of an 8-byte write).
constexpr size_t kMaxTxPerAccess = 8;

struct TxBatch {
  std::array<std::byte, kMaxTxPerAccess> bytes{};
  size_t count = 0;
  void add(uint8_t value) noexcept {
    if (count < bytes.size()) bytes[count++] = std::byte{value};
  }
};

}  // namespace

struct Uart8250::State {
  explicit State(IrqLine& line) : irq(line) {}

  IrqLine& irq;
  bool irq_level = false;

  uint8_t ier = 0;
  uint8_t fcr = 0;  // as programmed: enable, DMA mode, trigger bits
  uint8_t lcr = 0;
  uint8_t mcr = 0;
  uint8_t scr = 0;
  uint8_t rbr = 0;            // last byte handed to the guest (16450 mode)
  uint8_t msr_deltas = 0;     // MSR bits 3:0, cleared by an MSR read
  uint16_t divisor = kResetDivisor;
  bool overrun = false;       // LSR.OE, cleared by an LSR read
  bool thre_pending = false;  // the THRE interrupt source (see IIR)

  ByteFifo<kFifoDepth> rx_fifo;  // holds at most 1 byte in 16450 mode
  ByteFifo<kHostInputLimit> host_input;
  uint64_t dropped_input = 0;
  uint64_t dropped_unreported = 0;
  std::chrono::steady_clock::time_point last_drop_warning{};

  bool fifos_enabled() const noexcept { return (fcr & kFcrEnable) != 0; }
  bool loopback() const noexcept { return (mcr & kMcrLoop) != 0; }
  size_t rx_capacity() const noexcept { return fifos_enabled() ? kFifoDepth : 1; }
  size_t rx_trigger_level() const noexcept { return kRxTriggerLevels[(fcr & kFcrTriggerMask) >> 6]; }

  // CTS/DSR/RI/DCD as the MSR shows them. In loopback the datasheet wires
  // RTS->CTS, DTR->DSR, OUT1->RI and OUT2->DCD internally.
  uint8_t modem_lines() const noexcept {
    if (!loopback()) return kExternalModemLines;
    uint8_t lines = 0;
    if (mcr & kMcrRts) lines |= kMsrCts;
    if (mcr & kMcrDtr) lines |= kMsrDsr;
    if (mcr & kMcrOut1) lines |= kMsrRi;
    if (mcr & kMcrOut2) lines |= kMsrDcd;
    return lines;
  }

  uint8_t line_status() const noexcept {
    uint8_t lsr = kLsrThre | kLsrTemt;  // transmit is instantaneous
    if (!rx_fifo.empty()) lsr |= kLsrDataReady;
    if (overrun) lsr |= kLsrOverrun;
    return lsr;
  }

  // The highest-priority pending interrupt, as IIR bits 3:0 (datasheet table
  // "Interrupt Control Functions"): line status > RX data / character
  // timeout > THR empty > modem status. Each source is masked by its IER bit.
  uint8_t pending_interrupt() const noexcept {
    if ((ier & kIerLineStatus) && overrun) return kIirLineStatus;
    if ((ier & kIerRxData) && !rx_fifo.empty()) {
      if (!fifos_enabled() || rx_fifo.size() >= rx_trigger_level()) return kIirRxData;
      return kIirCharTimeout;  // raised at once: see the top of this file
    }
    if ((ier & kIerThre) && thre_pending) return kIirThre;
    if ((ier & kIerModemStatus) && (msr_deltas & kMsrDeltaMask)) return kIirModemStatus;
    return kIirNoInterrupt;
  }

  // The ISA IRQ line level. On the PC (IBM AT serial adapter and every
  // compatible since) the UART's INTR pin reaches the bus only through a
  // buffer enabled by the OUT2 output, which is why drivers set MCR.OUT2
  // (Linux does so whenever it wants interrupts). The datasheet's loopback
  // description forces the OUT1/OUT2 pins to their inactive state while
  // LOOP is set, so in loopback the interrupt stays internal (the IIR still
  // shows it) and the line is low. QEMU ignores OUT2; keel follows the PC.
  void update_irq() noexcept {
    const bool gate_open = (mcr & kMcrOut2) && !loopback();
    const bool level = gate_open && pending_interrupt() != kIirNoInterrupt;
    if (level != irq_level) {
      irq_level = level;
      irq.set_level(level);
    }
  }

  // Serial input: move waiting host bytes into the RX FIFO (or the 16450
  // holding register) while there is room. In loopback the serial input is
  // disconnected from the outside world (datasheet), so host bytes wait.
  void pull_host_input() noexcept {
    if (loopback()) return;
    while (!host_input.empty() && rx_fifo.size() < rx_capacity()) rx_fifo.push(*host_input.pop());
  }

  // A byte arriving from the transmitter in loopback.
  void loopback_receive(uint8_t value) noexcept {
    if (rx_fifo.size() < rx_capacity()) {
      rx_fifo.push(value);
      return;
    }
    overrun = true;
    // 16450 mode: the new character overwrites the holding register. FIFO
    // mode: the character in the shift register is lost, the FIFO kept.
    if (!fifos_enabled()) {
      rx_fifo.clear();
      rx_fifo.push(value);
    }
  }

  void transmit(uint8_t value, TxBatch& tx) noexcept {
    // Writing THR clears the THRE interrupt; updating the line here gives
    // an edge when it is raised again below, as hardware would.
    thre_pending = false;
    update_irq();
    if (loopback()) {
      loopback_receive(value);
    } else {
      tx.add(value);
    }
    // The byte left at once: THR is empty again.
    if (ier & kIerThre) thre_pending = true;
    update_irq();
  }

  void write_ier(uint8_t value) noexcept {
    const uint8_t old = ier;
    ier = value & kIerWritable;
    // Enabling ETBEI while THR is empty raises THRE at once (datasheet; the
    // Linux driver's THRE tests depend on it); disabling it drops the source.
    if ((old ^ ier) & kIerThre) thre_pending = (ier & kIerThre) != 0;
    update_irq();
  }

  void write_fcr(uint8_t value) noexcept {
    const bool enable = (value & kFcrEnable) != 0;
    // Switching between 16450 and FIFO mode empties the FIFOs.
    if (enable != fifos_enabled()) rx_fifo.clear();
    if (!enable) {
      // "FCR0 must be 1 when other FCR bits are written or they will not be
      // programmed": only the disable takes effect.
      fcr = 0;
    } else {
      if (value & kFcrClearRx) rx_fifo.clear();
      // Clearing the TX FIFO has nothing to do: it is always empty, and an
      // already-empty THR raises no new THRE event.
      fcr = value & (kFcrEnable | kFcrDmaMode | kFcrTriggerMask);
    }
    pull_host_input();
    update_irq();
  }

  void write_mcr(uint8_t value) noexcept {
    const uint8_t before = modem_lines();
    mcr = value & kMcrWritable;
    const uint8_t after = modem_lines();
    const uint8_t changed = before ^ after;
    if (changed & kMsrCts) msr_deltas |= kMsrDeltaCts;
    if (changed & kMsrDsr) msr_deltas |= kMsrDeltaDsr;
    if (changed & kMsrDcd) msr_deltas |= kMsrDeltaDcd;
    if ((before & kMsrRi) && !(after & kMsrRi)) msr_deltas |= kMsrTrailingEdgeRi;
    pull_host_input();  // leaving loopback reconnects the serial input
    update_irq();
  }

  uint8_t read_rbr() noexcept {
    if (rx_fifo.empty()) return fifos_enabled() ? 0 : rbr;
    rbr = rx_fifo.pop().value_or(0);
    pull_host_input();
    update_irq();
    return rbr;
  }

  uint8_t read_iir() noexcept {
    const uint8_t id = pending_interrupt();
    // Reading IIR while it reports THRE is one of the two ways to clear that
    // source (the other is writing THR).
    if (id == kIirThre) {
      thre_pending = false;
      update_irq();
    }
    return static_cast<uint8_t>(id | (fifos_enabled() ? kIirFifosEnabled : 0));
  }

  uint8_t read_lsr() noexcept {
    const uint8_t value = line_status();
    if (overrun) {
      overrun = false;
      update_irq();
    }
    return value;
  }

  uint8_t read_msr() noexcept {
    const uint8_t value = static_cast<uint8_t>(modem_lines() | msr_deltas);
    if (msr_deltas) {
      msr_deltas = 0;
      update_irq();
    }
    return value;
  }

  uint8_t read_register(uint64_t offset) noexcept {
    const bool dlab = (lcr & kLcrDlab) != 0;
    switch (offset) {
      case kRbrThr: return dlab ? static_cast<uint8_t>(divisor & 0xff) : read_rbr();
      case kIer: return dlab ? static_cast<uint8_t>(divisor >> 8) : ier;
      case kIirFcr: return read_iir();
      case kLcr: return lcr;
      case kMcr: return mcr;
      case kLsr: return read_lsr();
      case kMsr: return read_msr();
      case kScr: return scr;
      default: return kAllOnes;
    }
  }

  void write_register(uint64_t offset, uint8_t value, TxBatch& tx) noexcept {
    const bool dlab = (lcr & kLcrDlab) != 0;
    switch (offset) {
      case kRbrThr:
        if (dlab) {
          divisor = static_cast<uint16_t>((divisor & 0xff00) | value);
        } else {
          transmit(value, tx);
        }
        break;
      case kIer:
        if (dlab) {
          divisor = static_cast<uint16_t>((divisor & 0x00ff) | (value << 8));
        } else {
          write_ier(value);
        }
        break;
      case kIirFcr: write_fcr(value); break;
      case kLcr: lcr = value; break;
      case kMcr: write_mcr(value); break;
      case kScr: scr = value; break;
      // LSR and MSR writes are for factory test only (datasheet); ignored,
      // as QEMU does.
      default: break;
    }
  }
};

Uart8250::Uart8250(std::shared_ptr<IrqLine> irq, std::shared_ptr<CharSink> output)
    : irq_(std::move(irq)), output_(std::move(output)) {
  if (!irq_) throw ConfigError("UART: no IRQ line given");
  if (!output_) throw ConfigError("UART: no output sink given");
  state_ = std::make_unique<State>(*irq_);
}

Uart8250::~Uart8250() = default;

void Uart8250::reset() noexcept {
  std::lock_guard guard(lock_);
  const uint64_t dropped = state_->dropped_input;
  // In place, so a reset never allocates: a fresh State is the power-on one.
  std::destroy_at(state_.get());
  std::construct_at(state_.get(), *irq_);
  state_->dropped_input = dropped;
  irq_->set_level(false);
}

// The 16550 is a byte-wide ISA device: a wider access is split into byte
// accesses at consecutive offsets, as the ISA bus does for an 8-bit device
// (so `inw` at offset 0 reads RBR then IER, with RBR's side effects).
void Uart8250::read(uint64_t offset, std::span<std::byte> data) noexcept {
  std::lock_guard guard(lock_);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t reg = offset + i;
    data[i] = std::byte{reg < kPortCount ? state_->read_register(reg) : kAllOnes};
  }
}

void Uart8250::write(uint64_t offset, std::span<const std::byte> data) noexcept {
  TxBatch tx;
  {
    std::lock_guard guard(lock_);
    for (size_t i = 0; i < data.size(); ++i) {
      const uint64_t reg = offset + i;
      if (reg < kPortCount) state_->write_register(reg, std::to_integer<uint8_t>(data[i]), tx);
    }
  }
  // The sink is called without the device lock so a slow backend never holds
  // up other vCPUs' register accesses. Byte order is kept for each access,
  // and a guest that serialises its own THR writes sees them in order.
  if (tx.count > 0) output_->write(std::span<const std::byte>(tx.bytes.data(), tx.count));
}

void Uart8250::receive(std::span<const std::byte> bytes) noexcept {
  uint64_t report = 0;
  uint64_t total = 0;
  {
    std::lock_guard guard(lock_);
    State& s = *state_;
    for (std::byte b : bytes) {
      if (!s.host_input.push(std::to_integer<uint8_t>(b))) {
        ++s.dropped_input;
        ++s.dropped_unreported;
      }
      // Keep the FIFO topped up so the limit counts only bytes waiting
      // outside it.
      s.pull_host_input();
    }
    s.update_irq();
    // At most one warning a second, carrying the count since the last one.
    const auto now = std::chrono::steady_clock::now();
    if (s.dropped_unreported > 0 && now - s.last_drop_warning >= std::chrono::seconds(1)) {
      report = s.dropped_unreported;
      total = s.dropped_input;
      s.dropped_unreported = 0;
      s.last_drop_warning = now;
    }
  }
  if (report > 0) {
    spdlog::warn("uart: guest is not reading its serial input; dropped {} host bytes ({} in total)", report,
                 total);
  }
}

uint64_t Uart8250::dropped_input_bytes() const noexcept {
  std::lock_guard guard(lock_);
  return state_->dropped_input;
}

}  // namespace keel::devices
