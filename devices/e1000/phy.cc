#include "devices/e1000/phy.h"

#include "devices/e1000/e1000_regs.h"

namespace keel::devices::e1000 {

using namespace phy_reg;

namespace {
// Which registers exist and which bits of them the guest may change.
constexpr uint16_t writable_mask(uint8_t reg) noexcept {
  switch (reg) {
    case kControl:
      return 0xFFFF;
    case kAutonegAdv:
    case k1000tControl:
    case kSpecControl:
    case kExtSpecControl:
    case 0x1A:  // M88 special control / LED
    case 0x1D:  // M88 page select
    case 0x1E:  // M88 page data
      return 0xFFFF;
    default:
      return 0;
  }
}

constexpr bool exists(uint8_t reg) noexcept {
  switch (reg) {
    case kControl: case kStatus: case kId1: case kId2: case kAutonegAdv: case kLinkPartnerAbility:
    case kAutonegExpansion: case k1000tControl: case k1000tStatus: case kExtStatus: case kSpecControl:
    case kSpecStatus: case kExtSpecControl: case 0x1A: case 0x1D: case 0x1E:
      return true;
    default:
      return false;
  }
}
}  // namespace

void Phy::reset() noexcept {
  regs_.fill(0);
  regs_[kControl] = 0x1140;  // autoneg enabled, full duplex, 1000 Mb/s
  // 100/10 FD/HD able, extended status, preamble suppression, autoneg
  // complete and able, link up, extended capabilities.
  regs_[kStatus] = 0x796D;
  regs_[kId1] = kId1Marvell;
  regs_[kId2] = kId2M88E1011;
  regs_[kAutonegAdv] = 0x0DE1;            // 10/100 FD/HD, pause, selector 802.3
  regs_[kLinkPartnerAbility] = 0x45E1;    // partner: the same, acknowledged
  regs_[kAutonegExpansion] = 0x000F;
  regs_[k1000tControl] = 0x0E00;          // advertise 1000 FD/HD
  regs_[k1000tStatus] = 0x3C00;           // partner 1000 FD/HD, receivers OK
  regs_[kExtStatus] = 0x3000;             // 1000BASE-T FD/HD able
  regs_[kSpecControl] = 0x0068;
  regs_[kSpecStatus] = 0xAC00;            // 1000 Mb/s, full duplex, resolved, link up
  regs_[kExtSpecControl] = 0x0D60;
}

bool Phy::read(uint8_t reg, uint16_t& value) const noexcept {
  if (reg >= regs_.size() || !exists(reg)) {
    value = 0;
    return false;
  }
  value = regs_[reg];
  return true;
}

void Phy::write(uint8_t reg, uint16_t value) noexcept {
  if (reg >= regs_.size()) return;
  const uint16_t mask = writable_mask(reg);
  regs_[reg] = static_cast<uint16_t>((regs_[reg] & ~mask) | (value & mask));
  if (reg == kControl) {
    if (value & kControlReset) {
      const uint16_t control = static_cast<uint16_t>(value & ~kControlReset);
      reset();
      regs_[kControl] = control;
    }
    // Auto-negotiation completes at once: the link partner is keel.
    regs_[kControl] &= static_cast<uint16_t>(~(kControlReset | kControlRestartAutoneg));
    regs_[kStatus] |= kStatusAutonegComplete | kStatusLinkUp;
  }
}

uint32_t mdic_access(Phy& phy, uint32_t value, bool& interrupt) noexcept {
  const uint8_t phy_address = (value >> mdic::kPhyShift) & 0x1F;
  const uint8_t reg = (value >> mdic::kRegShift) & 0x1F;
  const uint32_t op = value & (3u << 26);
  uint32_t result = value & ~(mdic::kReady | mdic::kError);
  if (phy_address != Phy::kAddress) {
    result |= mdic::kError;
  } else if (op == mdic::kOpRead) {
    uint16_t data = 0;
    (void)phy.read(reg, data);
    result = (result & 0xFFFF0000u) | data;
  } else if (op == mdic::kOpWrite) {
    phy.write(reg, static_cast<uint16_t>(value & 0xFFFF));
  } else {
    result |= mdic::kError;  // opcodes 00 and 11 are reserved
  }
  result |= mdic::kReady;
  interrupt = (value & mdic::kInterrupt) != 0;
  return result;
}

}  // namespace keel::devices::e1000
