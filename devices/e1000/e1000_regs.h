// Register offsets and bit meanings of the 82540EM (Intel 8254x Family of
// Gigabit Ethernet Controllers Software Developer's Manual, chapter 13), the
// subset keel models. Names follow the manual so they can be looked up there.
#pragma once

#include <cstdint>

namespace keel::devices::e1000 {

inline constexpr uint16_t kVendorIntel = 0x8086;
inline constexpr uint16_t kDevice82540Em = 0x100E;
inline constexpr uint16_t kSubsystemId = 0x001E;  // PRO/1000 MT Desktop
inline constexpr uint64_t kMmioBarSize = 128 * 1024;
inline constexpr uint64_t kIoBarSize = 64;
inline constexpr uint8_t kMmioBar = 0;
inline constexpr uint8_t kIoBar = 1;

namespace reg {
inline constexpr uint32_t kCtrl = 0x0000;
inline constexpr uint32_t kStatus = 0x0008;
inline constexpr uint32_t kEecd = 0x0010;
inline constexpr uint32_t kEerd = 0x0014;
inline constexpr uint32_t kCtrlExt = 0x0018;
inline constexpr uint32_t kFla = 0x001C;
inline constexpr uint32_t kMdic = 0x0020;
inline constexpr uint32_t kFcal = 0x0028;
inline constexpr uint32_t kFcah = 0x002C;
inline constexpr uint32_t kFct = 0x0030;
inline constexpr uint32_t kVet = 0x0038;
inline constexpr uint32_t kIcr = 0x00C0;
inline constexpr uint32_t kItr = 0x00C4;
inline constexpr uint32_t kIcs = 0x00C8;
inline constexpr uint32_t kIms = 0x00D0;
inline constexpr uint32_t kImc = 0x00D8;
inline constexpr uint32_t kRctl = 0x0100;
inline constexpr uint32_t kFcttv = 0x0170;
inline constexpr uint32_t kTxcw = 0x0178;
inline constexpr uint32_t kRxcw = 0x0180;
inline constexpr uint32_t kTctl = 0x0400;
inline constexpr uint32_t kTipg = 0x0410;
inline constexpr uint32_t kAifs = 0x0458;
inline constexpr uint32_t kLedctl = 0x0E00;
inline constexpr uint32_t kPba = 0x1000;
inline constexpr uint32_t kFcrtl = 0x2160;
inline constexpr uint32_t kFcrth = 0x2168;
inline constexpr uint32_t kRdbal = 0x2800;
inline constexpr uint32_t kRdbah = 0x2804;
inline constexpr uint32_t kRdlen = 0x2808;
inline constexpr uint32_t kRdh = 0x2810;
inline constexpr uint32_t kRdt = 0x2818;
inline constexpr uint32_t kRdtr = 0x2820;
inline constexpr uint32_t kRxdctl = 0x2828;
inline constexpr uint32_t kRadv = 0x282C;
inline constexpr uint32_t kRsrpd = 0x2C00;
inline constexpr uint32_t kTxdmac = 0x3000;
inline constexpr uint32_t kTdbal = 0x3800;
inline constexpr uint32_t kTdbah = 0x3804;
inline constexpr uint32_t kTdlen = 0x3808;
inline constexpr uint32_t kTdh = 0x3810;
inline constexpr uint32_t kTdt = 0x3818;
inline constexpr uint32_t kTidv = 0x3820;
inline constexpr uint32_t kTxdctl = 0x3828;
inline constexpr uint32_t kTadv = 0x382C;
inline constexpr uint32_t kStatsStart = 0x4000;  // CRCERRS
inline constexpr uint32_t kStatsEnd = 0x4100;    // one past TSCTFC
inline constexpr uint32_t kRxcsum = 0x5000;
inline constexpr uint32_t kMta = 0x5200;  // 128 dwords
inline constexpr uint32_t kMtaEnd = 0x5400;
inline constexpr uint32_t kRa = 0x5400;  // 16 RAL/RAH pairs
inline constexpr uint32_t kRaEnd = 0x5480;
inline constexpr uint32_t kVfta = 0x5600;  // 128 dwords
inline constexpr uint32_t kVftaEnd = 0x5800;
inline constexpr uint32_t kWuc = 0x5800;
inline constexpr uint32_t kWufc = 0x5808;
inline constexpr uint32_t kWus = 0x5810;
inline constexpr uint32_t kManc = 0x5820;
}  // namespace reg

// Statistics registers (13.7), offsets from 0x4000. All clear on read; the
// 64-bit octet counters clear both halves when the high half is read.
namespace stat {
inline constexpr uint32_t kCrcerrs = 0x4000;
inline constexpr uint32_t kMpc = 0x4010;
inline constexpr uint32_t kPrc64 = 0x405C;
inline constexpr uint32_t kGprc = 0x4074;
inline constexpr uint32_t kBprc = 0x4078;
inline constexpr uint32_t kMprc = 0x407C;
inline constexpr uint32_t kGptc = 0x4080;
inline constexpr uint32_t kGorcl = 0x4088;
inline constexpr uint32_t kGorch = 0x408C;
inline constexpr uint32_t kGotcl = 0x4090;
inline constexpr uint32_t kGotch = 0x4094;
inline constexpr uint32_t kRnbc = 0x40A0;
inline constexpr uint32_t kRuc = 0x40A4;
inline constexpr uint32_t kRoc = 0x40AC;
inline constexpr uint32_t kTorl = 0x40C0;
inline constexpr uint32_t kTorh = 0x40C4;
inline constexpr uint32_t kTotl = 0x40C8;
inline constexpr uint32_t kToth = 0x40CC;
inline constexpr uint32_t kTpr = 0x40D0;
inline constexpr uint32_t kTpt = 0x40D4;
inline constexpr uint32_t kPtc64 = 0x40D8;
inline constexpr uint32_t kMptc = 0x40F0;
inline constexpr uint32_t kBptc = 0x40F4;
inline constexpr uint32_t kTsctc = 0x40F8;
inline constexpr uint32_t kTsctfc = 0x40FC;
}  // namespace stat

namespace ctrl {
inline constexpr uint32_t kFd = 1u << 0;
inline constexpr uint32_t kSlu = 1u << 6;
inline constexpr uint32_t kSpeed1000 = 2u << 8;
inline constexpr uint32_t kRst = 1u << 26;
inline constexpr uint32_t kVme = 1u << 30;
inline constexpr uint32_t kPhyRst = 1u << 31;
}  // namespace ctrl

namespace status {
inline constexpr uint32_t kFd = 1u << 0;
inline constexpr uint32_t kLu = 1u << 1;
inline constexpr uint32_t kSpeed1000 = 2u << 6;
inline constexpr uint32_t kAsdv1000 = 2u << 8;
}  // namespace status

// Interrupt causes (ICR/ICS/IMS/IMC share the layout, 13.4.17-13.4.21).
namespace irq {
inline constexpr uint32_t kTxdw = 1u << 0;
inline constexpr uint32_t kTxqe = 1u << 1;
inline constexpr uint32_t kLsc = 1u << 2;
inline constexpr uint32_t kRxseq = 1u << 3;
inline constexpr uint32_t kRxdmt0 = 1u << 4;
inline constexpr uint32_t kRxo = 1u << 6;
inline constexpr uint32_t kRxt0 = 1u << 7;
inline constexpr uint32_t kMdac = 1u << 9;
inline constexpr uint32_t kTxdLow = 1u << 15;
inline constexpr uint32_t kSrpd = 1u << 16;
inline constexpr uint32_t kValid = 0x0001FFFF;  // causes an 82540 has
}  // namespace irq

namespace rctl {
inline constexpr uint32_t kEn = 1u << 1;
inline constexpr uint32_t kUpe = 1u << 3;
inline constexpr uint32_t kMpe = 1u << 4;
inline constexpr uint32_t kLpe = 1u << 5;
inline constexpr uint32_t kRdmtsShift = 8;
inline constexpr uint32_t kMoShift = 12;
inline constexpr uint32_t kBam = 1u << 15;
inline constexpr uint32_t kBsizeShift = 16;
inline constexpr uint32_t kVfe = 1u << 18;
inline constexpr uint32_t kBsex = 1u << 25;
inline constexpr uint32_t kSecrc = 1u << 26;
}  // namespace rctl

namespace tctl {
inline constexpr uint32_t kEn = 1u << 1;
inline constexpr uint32_t kPsp = 1u << 3;
}  // namespace tctl

namespace rxcsum {
inline constexpr uint32_t kIpofl = 1u << 8;
inline constexpr uint32_t kTuofl = 1u << 9;
}  // namespace rxcsum

inline constexpr uint32_t kRahAv = 1u << 31;
inline constexpr uint32_t kRdtrFpd = 1u << 31;

namespace eecd {
inline constexpr uint32_t kSk = 1u << 0;
inline constexpr uint32_t kCs = 1u << 1;
inline constexpr uint32_t kDi = 1u << 2;
inline constexpr uint32_t kDo = 1u << 3;
inline constexpr uint32_t kFwe = 3u << 4;
inline constexpr uint32_t kReq = 1u << 6;
inline constexpr uint32_t kGnt = 1u << 7;
inline constexpr uint32_t kPres = 1u << 8;
}  // namespace eecd

namespace eerd {
inline constexpr uint32_t kStart = 1u << 0;
inline constexpr uint32_t kDone = 1u << 4;
inline constexpr uint32_t kAddrShift = 8;
inline constexpr uint32_t kDataShift = 16;
}  // namespace eerd

namespace mdic {
inline constexpr uint32_t kRegShift = 16;
inline constexpr uint32_t kPhyShift = 21;
inline constexpr uint32_t kOpWrite = 1u << 26;
inline constexpr uint32_t kOpRead = 2u << 26;
inline constexpr uint32_t kReady = 1u << 28;
inline constexpr uint32_t kInterrupt = 1u << 29;
inline constexpr uint32_t kError = 1u << 30;
}  // namespace mdic

}  // namespace keel::devices::e1000
