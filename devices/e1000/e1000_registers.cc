// The register file (manual 13.4): which offsets exist, what reads and
// writes of them do. Plain registers are stored as written; unknown ones
// read 0 and ignore writes (rate-limited log), as QEMU does.
#include <spdlog/spdlog.h>

#include "devices/e1000/e1000.h"
#include "devices/e1000/e1000_regs.h"

namespace keel::devices {

using namespace e1000;

namespace {
// Registers with no side effects: stored as written, read back.
bool plain_register(uint32_t offset) noexcept {
  switch (offset) {
    case reg::kCtrlExt: case reg::kFla: case reg::kFcal: case reg::kFcah: case reg::kFct: case reg::kVet:
    case reg::kItr: case reg::kFcttv: case reg::kTxcw: case reg::kRxcw: case reg::kTipg: case reg::kAifs:
    case reg::kLedctl: case reg::kPba: case reg::kFcrtl: case reg::kFcrth: case reg::kRdbal: case reg::kRdbah:
    case reg::kRdlen: case reg::kRadv: case reg::kRxdctl: case reg::kRsrpd: case reg::kTxdmac: case reg::kTdbal:
    case reg::kTdbah: case reg::kTdlen: case reg::kTidv: case reg::kTxdctl: case reg::kTadv: case reg::kRxcsum:
    case reg::kWuc: case reg::kWufc: case reg::kWus: case reg::kManc:
      return true;
    default:
      break;
  }
  return (offset >= reg::kMta && offset < reg::kMtaEnd) || (offset >= reg::kRa && offset < reg::kRaEnd) ||
         (offset >= reg::kVfta && offset < reg::kVftaEnd);
}

// Bits the guest may set in the plain registers that have reserved bits
// keel relies on being clear.
uint32_t writable_bits(uint32_t offset) noexcept {
  switch (offset) {
    case reg::kRdlen:
    case reg::kTdlen:
      return 0x000FFF80;  // bits 19:7
    case reg::kItr:
    case reg::kRadv:
      return 0x0000FFFF;
    case reg::kVet:
      return 0x0000FFFF;
    default:
      return 0xFFFFFFFF;
  }
}

constexpr uint32_t kStatusValue = status::kFd | status::kLu | status::kSpeed1000 | status::kAsdv1000;
}  // namespace

void E1000::log_unknown(const char* what, uint32_t offset) noexcept {
  const auto decision = log_limit_.admit();
  if (!decision.log) return;
  if (decision.suppressed_before != 0) {
    spdlog::warn("{} at offset {:#x} ({} similar lines suppressed)", what, offset, decision.suppressed_before);
  } else {
    spdlog::warn("{} at offset {:#x}", what, offset);
  }
}

void E1000::add_stat(uint32_t offset, uint32_t amount) noexcept {
  uint32_t& counter = reg(offset);
  // The counters stick at their maximum instead of wrapping (13.7).
  counter = counter > UINT32_MAX - amount ? UINT32_MAX : counter + amount;
}

void E1000::add_stat64(uint32_t low_offset, uint64_t amount) noexcept {
  uint64_t value = uint64_t{reg(low_offset + 4)} << 32 | reg(low_offset);
  value += amount;
  reg(low_offset) = static_cast<uint32_t>(value);
  reg(low_offset + 4) = static_cast<uint32_t>(value >> 32);
}

uint32_t E1000::read_statistic(uint32_t offset) noexcept {
  const uint32_t value = reg(offset);
  switch (offset) {
    case stat::kGorcl: case stat::kGotcl: case stat::kTorl: case stat::kTotl:
      return value;  // cleared when the high half is read
    case stat::kGorch: case stat::kGotch: case stat::kTorh: case stat::kToth:
      reg(offset - 4) = 0;
      break;
    default:
      break;
  }
  reg(offset) = 0;
  return value;
}

uint32_t E1000::read_register(uint32_t offset) noexcept {
  if (offset >= kRegisterFileEnd) {
    log_unknown("e1000: read of unknown register", offset);
    return 0;
  }
  switch (offset) {
    case reg::kCtrl:
      return reg(reg::kCtrl);
    case reg::kStatus:
      return kStatusValue;  // the link is always up: keel is the cable
    case reg::kEecd:
      return eeprom_.read_eecd();
    case reg::kEerd:
      return eeprom_.read_eerd();
    case reg::kMdic:
      return reg(reg::kMdic);
    case reg::kIcr: {
      // Reading ICR clears every cause (13.4.17) and so lowers INTA#.
      const uint32_t value = reg(reg::kIcr);
      reg(reg::kIcr) = 0;
      update_intx();
      return value;
    }
    case reg::kIms:
      return reg(reg::kIms);
    case reg::kIcs: case reg::kImc:
      return 0;  // write-only
    case reg::kRctl: case reg::kTctl: case reg::kRdh: case reg::kRdt: case reg::kTdh: case reg::kTdt:
    case reg::kRdtr:
      return reg(offset);
    default:
      break;
  }
  if (offset >= reg::kStatsStart && offset < reg::kStatsEnd) return read_statistic(offset);
  if (plain_register(offset)) return reg(offset);
  log_unknown("e1000: read of unknown register", offset);
  return 0;
}

void E1000::write_ctrl(uint32_t value) noexcept {
  if (value & ctrl::kRst) {
    // Software reset (13.4.1): every MAC register back to its default,
    // both rings stopped, interrupts cleared; RST reads back as 0.
    reset_locked();
    return;
  }
  if (value & ctrl::kPhyRst) phy_.reset();
  reg(reg::kCtrl) = value & ~(ctrl::kRst | ctrl::kPhyRst);
}

void E1000::write_register(uint32_t offset, uint32_t value) noexcept {
  if (offset >= kRegisterFileEnd) {
    log_unknown("e1000: write to unknown register", offset);
    return;
  }
  switch (offset) {
    case reg::kCtrl:
      write_ctrl(value);
      return;
    case reg::kStatus:
      return;  // read-only here
    case reg::kEecd:
      eeprom_.write_eecd(value);
      return;
    case reg::kEerd:
      eeprom_.write_eerd(value);
      return;
    case reg::kMdic: {
      bool interrupt = false;
      reg(reg::kMdic) = mdic_access(phy_, value, interrupt);
      if (interrupt) set_cause(irq::kMdac);
      return;
    }
    case reg::kIcr:
      reg(reg::kIcr) &= ~value;  // write 1 to clear
      update_intx();
      return;
    case reg::kIcs:
      set_cause(value & irq::kValid);
      return;
    case reg::kIms:
      reg(reg::kIms) |= value & irq::kValid;
      update_intx();
      return;
    case reg::kImc:
      reg(reg::kIms) &= ~value;
      update_intx();
      return;
    case reg::kRctl: {
      const bool was_enabled = reg(reg::kRctl) & rctl::kEn;
      reg(reg::kRctl) = value;
      const bool enabled = value & rctl::kEn;
      if (was_enabled && !enabled && rx_has_held_) {
        rx_has_held_ = false;  // a disabled receiver drops what it holds
        ++counters_.rx_dropped_disabled;
      }
      rx_tail_written();  // re-evaluate back-pressure for the new state
      return;
    }
    case reg::kTctl:
      reg(reg::kTctl) = value;
      process_tx();
      return;
    case reg::kRdh:
    case reg::kTdh:
      // The driver sets heads only while the ring is stopped; any value is
      // stored and checked against the ring before use.
      reg(offset) = value & 0xFFFF;
      return;
    case reg::kRdt:
      reg(reg::kRdt) = value & 0xFFFF;
      rx_tail_written();
      return;
    case reg::kTdt:
      reg(reg::kTdt) = value & 0xFFFF;
      process_tx();
      return;
    case reg::kRdtr:
      reg(reg::kRdtr) = value & 0xFFFF;
      // Flush Partial Descriptor: report what was received at once.
      if ((value & kRdtrFpd) && (rx_delay_armed_ || rx_absolute_armed_)) fire_rxt0();
      return;
    default:
      break;
  }
  if (offset >= reg::kStatsStart && offset < reg::kStatsEnd) return;  // read-only counters
  if (plain_register(offset)) {
    reg(offset) = value & writable_bits(offset);
    return;
  }
  log_unknown("e1000: write to unknown register", offset);
}

}  // namespace keel::devices
