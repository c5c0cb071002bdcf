// Builders for the individual ACPI tables keel gives a guest. Each returns
// the finished bytes of one table (length and checksum filled in); placing
// them in guest memory is firmware_tables.cc's job.
#pragma once

#include <cstdint>
#include <span>

#include "devices/acpi/pm_registers.h"
#include "src/firmware/byte_writer.h"

namespace keel::firmware::acpi {

inline constexpr size_t kHeaderSize = 36;
inline constexpr size_t kRsdpSize = 36;
inline constexpr size_t kFadtSize = 276;  // ACPI 6.x FADT, revision 6
inline constexpr uint8_t kFadtMinorVersion = 3;  // ACPI 6.3
inline constexpr uint8_t kSciIrq = devices::acpi_pm::kSciIrq;  // 9, as QEMU's pc machine
inline constexpr size_t kFacsSize = 64;
inline constexpr uint64_t kFacsAlignment = 64;  // 5.2.10

// Offsets into the FADT (ACPI 6.3 table 5-34, "FADT Format").
namespace fadt {
inline constexpr size_t kFirmwareCtrl = 36;
inline constexpr size_t kDsdt = 40;
inline constexpr size_t kSciInt = 46;
inline constexpr size_t kSmiCmd = 48;
inline constexpr size_t kPm1aEvtBlk = 56;
inline constexpr size_t kPm1aCntBlk = 64;
inline constexpr size_t kPmTmrBlk = 76;
inline constexpr size_t kGpe0Blk = 80;
inline constexpr size_t kPm1EvtLen = 88;
inline constexpr size_t kPm1CntLen = 89;
inline constexpr size_t kPmTmrLen = 91;
inline constexpr size_t kGpe0BlkLen = 92;
inline constexpr size_t kPLvl2Lat = 96;
inline constexpr size_t kPLvl3Lat = 98;
inline constexpr size_t kCentury = 108;
inline constexpr size_t kIapcBootArch = 109;
inline constexpr size_t kFlags = 112;
inline constexpr size_t kResetReg = 116;
inline constexpr size_t kResetValue = 128;
inline constexpr size_t kMinorVersion = 131;
inline constexpr size_t kXFirmwareCtrl = 132;
inline constexpr size_t kXDsdt = 140;
inline constexpr size_t kXPm1aEvtBlk = 148;
inline constexpr size_t kXPm1aCntBlk = 172;
inline constexpr size_t kXPmTmrBlk = 208;
inline constexpr size_t kXGpe0Blk = 220;
inline constexpr size_t kSleepControlReg = 244;
inline constexpr size_t kSleepStatusReg = 256;

// Flags (table 5-35).
inline constexpr uint32_t kFlagWbinvd = 1u << 0;
inline constexpr uint32_t kFlagProcC1 = 1u << 2;
inline constexpr uint32_t kFlagPowerButton = 1u << 4;  // set: no fixed-feature power button
inline constexpr uint32_t kFlagSleepButton = 1u << 5;  // set: no fixed-feature sleep button
inline constexpr uint32_t kFlagTmrValExt = 1u << 8;    // set: 32-bit PM timer
inline constexpr uint32_t kFlagResetRegSup = 1u << 10;
inline constexpr uint32_t kFlagHwReducedAcpi = 1u << 20;

inline constexpr uint16_t kBootArchLegacyDevices = 1u << 0;
inline constexpr uint16_t kBootArch8042 = 1u << 1;

// P_LVLx_LAT values that say "no C2" (> 100) and "no C3" (> 1000).
inline constexpr uint16_t kNoC2Latency = 0x0FFF;
inline constexpr uint16_t kNoC3Latency = 0x0FFF;
}  // namespace fadt

// Generic Address Structure (5.2.3.2): 12 bytes.
namespace gas {
inline constexpr size_t kSize = 12;
inline constexpr uint8_t kSystemIo = 1;
// Access sizes.
inline constexpr uint8_t kByteAccess = 1;
inline constexpr uint8_t kWordAccess = 2;
inline constexpr uint8_t kDwordAccess = 3;
}  // namespace gas

// MADT entry types (ACPI 6.3 table 5-45).
namespace madt {
inline constexpr uint8_t kLocalApic = 0;
inline constexpr uint8_t kIoApic = 1;
inline constexpr uint8_t kInterruptSourceOverride = 2;
inline constexpr uint8_t kLocalApicNmi = 4;
inline constexpr uint32_t kFlagPcatCompat = 1u << 0;
inline constexpr uint32_t kLocalApicEnabled = 1u << 0;
// MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2.
inline constexpr uint16_t kPolarityActiveHigh = 0b01;
inline constexpr uint16_t kTriggerLevel = 0b11 << 2;
}  // namespace madt

Bytes build_dsdt(uint32_t cpu_count);
Bytes build_facs();
Bytes build_fadt(uint64_t dsdt_address, uint64_t facs_address);
Bytes build_madt(uint32_t cpu_count);
// MCFG: the ECAM window of devices/pci (segment 0, bus 0).
Bytes build_mcfg();
// Root tables listing `tables` (addresses of FADT, MADT, ...).
Bytes build_xsdt(std::span<const uint64_t> tables);
Bytes build_rsdt(std::span<const uint64_t> tables);
Bytes build_rsdp(uint64_t rsdt_address, uint64_t xsdt_address);

}  // namespace keel::firmware::acpi
