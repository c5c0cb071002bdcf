// Receive-side decisions that depend only on the frame and the filter
// registers (manual 3.2.1, 3.2.9, 13.4.21-13.4.25): destination address
// filtering (RAL/RAH exact matches, the MTA hash selected by RCTL.MO,
// UPE/MPE/BAM), the VLAN filter (RCTL.VFE + VFTA), and the checksum status
// bits a receive descriptor reports (RXCSUM.IPOFL/TUOFL). Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace keel::devices::e1000 {

struct RxFilterRegisters {
  uint32_t rctl = 0;
  uint16_t vet = 0x8100;  // VLAN ether type
  std::span<const uint32_t, 32> ra;    // RAL0, RAH0, RAL1, ...
  std::span<const uint32_t, 128> mta;
  std::span<const uint32_t, 128> vfta;
};

struct RxFilterResult {
  bool accept = false;
  bool broadcast = false;
  bool multicast = false;  // group address other than broadcast
};

// The 12-bit multicast hash of a destination address for RCTL.MO = `mo`.
uint16_t multicast_hash(std::span<const uint8_t, 6> address, uint32_t mo) noexcept;
// `frame` is a whole Ethernet frame (at least 14 bytes; shorter frames are
// refused).
RxFilterResult filter_frame(std::span<const uint8_t> frame, const RxFilterRegisters& regs) noexcept;

struct RxChecksumStatus {
  uint8_t status = 0;  // IXSM / IPCS / TCPCS bits of the descriptor status
  uint8_t errors = 0;  // IPE / TCPE
};
inline constexpr uint8_t kRxStatusDd = 0x01;
inline constexpr uint8_t kRxStatusEop = 0x02;
inline constexpr uint8_t kRxStatusIxsm = 0x04;
inline constexpr uint8_t kRxStatusVp = 0x08;
inline constexpr uint8_t kRxStatusTcpcs = 0x20;
inline constexpr uint8_t kRxStatusIpcs = 0x40;
inline constexpr uint8_t kRxErrorTcpe = 0x20;
inline constexpr uint8_t kRxErrorIpe = 0x40;
inline constexpr uint8_t kRxErrorRxe = 0x80;

// Checks the IPv4 header and TCP/UDP checksums of `frame` (untagged, no FCS)
// as far as RXCSUM enables it.
RxChecksumStatus rx_checksum_status(std::span<const uint8_t> frame, uint32_t rxcsum) noexcept;

}  // namespace keel::devices::e1000
