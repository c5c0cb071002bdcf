// The 82540EM's integrated Marvell 88E1011-compatible PHY as MDIC reaches
// it (manual 13.4.6 and 13.5): PHY address 1, a link that is always up at
// 1000 Mb/s full duplex with auto-negotiation complete. Writable registers
// keep what the guest writes; reset and restart-autoneg bits self-clear.
// Not thread-safe: the owning device serializes.
#pragma once

#include <array>
#include <cstdint>

namespace keel::devices::e1000 {

namespace phy_reg {
inline constexpr uint8_t kControl = 0x00;
inline constexpr uint8_t kStatus = 0x01;
inline constexpr uint8_t kId1 = 0x02;
inline constexpr uint8_t kId2 = 0x03;
inline constexpr uint8_t kAutonegAdv = 0x04;
inline constexpr uint8_t kLinkPartnerAbility = 0x05;
inline constexpr uint8_t kAutonegExpansion = 0x06;
inline constexpr uint8_t k1000tControl = 0x09;
inline constexpr uint8_t k1000tStatus = 0x0A;
inline constexpr uint8_t kExtStatus = 0x0F;
inline constexpr uint8_t kSpecControl = 0x10;
inline constexpr uint8_t kSpecStatus = 0x11;
inline constexpr uint8_t kExtSpecControl = 0x14;

inline constexpr uint16_t kStatusLinkUp = 1u << 2;
inline constexpr uint16_t kStatusAutonegComplete = 1u << 5;
inline constexpr uint16_t kControlReset = 1u << 15;
inline constexpr uint16_t kControlRestartAutoneg = 1u << 9;
inline constexpr uint16_t kId1Marvell = 0x0141;
inline constexpr uint16_t kId2M88E1011 = 0x0C20;  // 0x01410C20 with revision 0
}  // namespace phy_reg

class Phy {
 public:
  static constexpr uint8_t kAddress = 1;
  Phy() noexcept { reset(); }
  void reset() noexcept;
  // False for a register the PHY does not have (the guest reads 0).
  bool read(uint8_t reg, uint16_t& value) const noexcept;
  void write(uint8_t reg, uint16_t value) noexcept;

 private:
  std::array<uint16_t, 32> regs_{};
};

// MDIC (13.4.6): performs the read or write the guest asks for at once and
// returns the register's new value (Ready set; Error for a PHY address
// other than 1). `interrupt` says whether ICR.MDAC is to be raised.
uint32_t mdic_access(Phy& phy, uint32_t value, bool& interrupt) noexcept;

}  // namespace keel::devices::e1000
