// Port 0x80, System Control Port A (0x92) and the PIIX Reset Control
// Register (0xCF9). Each is a one-byte register; the machine inserts each
// with length 1, so an access other than one byte at offset 0 cannot reach
// these devices. If one did, the extra bytes read as all-ones (an undecoded
// ISA port) and writes away from offset 0 are ignored.
#include "devices/legacy/legacy_ports.h"

#include <algorithm>

namespace keel::devices {

namespace {

constexpr std::byte kUndecoded{0xff};

// Port A (PS/2 System Control Port A, as in the PIIX/ICH datasheets).
constexpr uint8_t kPortAFastReset = 0x01;  // 0 -> 1 transition resets the CPU

// Reset Control Register (PIIX3/PIIX4 datasheet, I/O 0xCF9).
constexpr uint8_t kRcrSystemReset = 0x02;  // SRST: hard (1) or soft (0) reset type
constexpr uint8_t kRcrResetCpu = 0x04;     // RCPU: 0 -> 1 starts the reset

void fill_register_read(uint64_t offset, std::span<std::byte> data, uint8_t value) noexcept {
  std::fill(data.begin(), data.end(), kUndecoded);
  if (offset == 0 && !data.empty()) data[0] = std::byte{value};
}

// The byte a write puts into a one-byte register at offset 0, if any.
bool register_write_value(uint64_t offset, std::span<const std::byte> data, uint8_t& value) noexcept {
  if (offset != 0 || data.empty()) return false;
  value = std::to_integer<uint8_t>(data[0]);
  return true;
}

}  // namespace

// Port 0x80 is where firmware posts progress codes and Linux's outb_p()
// writes for an I/O delay; nothing listens on a PC without a POST card.
// Reads return all-ones, as QEMU's ioport80.
void PostCodePort::read(uint64_t /*offset*/, std::span<std::byte> data) noexcept {
  std::fill(data.begin(), data.end(), kUndecoded);
}

void PostCodePort::write(uint64_t /*offset*/, std::span<const std::byte> /*data*/) noexcept {}

void SystemControlPortA::read(uint64_t offset, std::span<std::byte> data) noexcept {
  std::lock_guard guard(lock_);
  fill_register_read(offset, data, value_);
}

// Every bit written is kept and read back (QEMU keeps the whole byte), so the
// A20 bit (bit 1) round-trips for Linux's a20 code; keel's memory map has no
// A20 masking, so A20 is enabled in effect whatever the bit says. Bit 0 is
// the fast reset: the datasheet resets on its 0 -> 1 transition and requires
// it to be written 0 again before another reset.
void SystemControlPortA::write(uint64_t offset, std::span<const std::byte> data) noexcept {
  uint8_t value = 0;
  if (!register_write_value(offset, data, value)) return;
  bool reset = false;
  {
    std::lock_guard guard(lock_);
    reset = (value & kPortAFastReset) && !(value_ & kPortAFastReset);
    value_ = value;
  }
  if (reset) vm_.request_stop(StopReason::guest_reset, 0);
}

void ResetControlPort::read(uint64_t offset, std::span<std::byte> data) noexcept {
  std::lock_guard guard(lock_);
  fill_register_read(offset, data, value_);
}

// PIIX: setting RCPU (bit 2) resets, of the type chosen by SRST (bit 1);
// keel treats every reset as an exit, so the type does not matter. RCPU is
// never stored (it reads back 0, as in QEMU's piix model), so each write
// with bit 2 set is a 0 -> 1 transition. This is also how Linux's
// reboot=pci path works: it writes 0x02, then 0x06 (or 0x0E).
void ResetControlPort::write(uint64_t offset, std::span<const std::byte> data) noexcept {
  uint8_t value = 0;
  if (!register_write_value(offset, data, value)) return;
  if (value & kRcrResetCpu) {
    vm_.request_stop(StopReason::guest_reset, 0);
    return;
  }
  std::lock_guard guard(lock_);
  value_ = value & kRcrSystemReset;
}

}  // namespace keel::devices
