#include "devices/e1000/eeprom.h"

#include "devices/e1000/e1000_regs.h"

namespace keel::devices::e1000 {

namespace {
// Word indices (manual table 5-2).
constexpr uint16_t kWordCompat = 0x03;
constexpr uint16_t kWordLedSettings = 0x04;  // 0xFFFF: driver defaults
constexpr uint16_t kWordPbaLow = 0x08;
constexpr uint16_t kWordPbaHigh = 0x09;
constexpr uint16_t kWordInitControl1 = 0x0A;
constexpr uint16_t kWordSubsystemId = 0x0B;
constexpr uint16_t kWordSubsystemVendor = 0x0C;
constexpr uint16_t kWordDeviceId = 0x0D;
constexpr uint16_t kWordVendorId = 0x0E;
constexpr uint16_t kWordInitControl2 = 0x0F;  // bits 13:12 pause: 0 = no flow control
constexpr uint16_t kWordInitControl3 = 0x24;  // APM enable bit 10 clear: no wake-on-LAN
constexpr uint16_t kMicrowireRead = 0b110;     // start bit + READ opcode
constexpr uint32_t kAddressBits = 6;           // 64 words
}  // namespace

Eeprom::Eeprom(const std::array<uint8_t, 6>& mac) noexcept {
  words_.fill(0xFFFF);  // erased cells read as ones, as on a real part
  for (uint16_t i = 0; i < 3; ++i) words_[i] = static_cast<uint16_t>(mac[2 * i] | mac[2 * i + 1] << 8);
  words_[kWordCompat] = 0x0000;
  words_[kWordLedSettings] = 0xFFFF;
  words_[kWordPbaLow] = 0x2000;  // a PBA number for `ethtool -i`-style probes
  words_[kWordPbaHigh] = 0x1000;
  words_[kWordInitControl1] = 0x6403;  // load subsystem IDs, 82540 defaults
  words_[kWordSubsystemId] = kSubsystemId;
  words_[kWordSubsystemVendor] = kVendorIntel;
  words_[kWordDeviceId] = kDevice82540Em;
  words_[kWordVendorId] = kVendorIntel;
  words_[kWordInitControl2] = 0x0040;
  words_[kWordInitControl3] = 0x0000;
  uint16_t sum = 0;
  for (uint16_t i = 0; i < kChecksumWord; ++i) sum = static_cast<uint16_t>(sum + words_[i]);
  words_[kChecksumWord] = static_cast<uint16_t>(kChecksumSum - sum);
}

void Eeprom::reset() noexcept {
  eecd_ = 0;
  eerd_ = 0;
  in_bits_ = 0;
  in_value_ = 0;
  reading_ = false;
  out_bit_ = 0;
  data_out_ = false;
}

uint32_t Eeprom::read_eecd() const noexcept {
  uint32_t value = (eecd_ & (eecd::kSk | eecd::kCs | eecd::kDi | eecd::kFwe | eecd::kReq)) | eecd::kPres;
  if (eecd_ & eecd::kReq) value |= eecd::kGnt;  // software access is granted at once
  if (data_out_) value |= eecd::kDo;
  return value;  // EE_SIZE (bit 9) clear: 64 words, 6 address bits
}

void Eeprom::write_eecd(uint32_t value) noexcept {
  const uint32_t old = eecd_;
  eecd_ = value;
  if (!(value & eecd::kCs)) {
    // Chip select low ends any command (Linux's standby between words).
    in_bits_ = 0;
    in_value_ = 0;
    reading_ = false;
    data_out_ = false;
    return;
  }
  if ((value & eecd::kSk) && !(old & eecd::kSk)) clock_rising_edge((value & eecd::kDi) != 0);
}

void Eeprom::clock_rising_edge(bool di) noexcept {
  if (reading_) {
    // Each rising edge presents the next bit on DO, MSB first; after bit 0
    // the read continues with the next word (sequential read).
    data_out_ = (words_[read_address_ % kWords] >> out_bit_) & 1;
    if (out_bit_ == 0) {
      out_bit_ = 15;
      read_address_ = static_cast<uint16_t>((read_address_ + 1) % kWords);
    } else {
      --out_bit_;
    }
    return;
  }
  if (in_bits_ == 0 && !di) return;  // waiting for the start bit
  in_value_ = in_value_ << 1 | (di ? 1 : 0);
  ++in_bits_;
  if (in_bits_ < 3 + kAddressBits) return;
  const uint32_t opcode = in_value_ >> kAddressBits;
  if (opcode == kMicrowireRead) {
    reading_ = true;
    read_address_ = static_cast<uint16_t>(in_value_ & ((1u << kAddressBits) - 1));
    out_bit_ = 15;
    data_out_ = false;  // the dummy zero bit before the data
  }
  // Other commands (write enable, write, erase) are ignored: the EEPROM is
  // read-only here, so a guest cannot corrupt the MAC or the checksum.
  in_bits_ = 0;
  in_value_ = 0;
}

void Eeprom::write_eerd(uint32_t value) noexcept {
  if (!(value & eerd::kStart)) {
    eerd_ = value & ~(eerd::kDone);
    return;
  }
  const uint16_t address = static_cast<uint16_t>((value >> eerd::kAddrShift) & 0xFF);
  const uint32_t data = address < kWords ? words_[address] : 0;
  eerd_ = (value & (0xFFu << eerd::kAddrShift)) | eerd::kDone | data << eerd::kDataShift;
}

}  // namespace keel::devices::e1000
