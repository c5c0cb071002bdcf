// Where the ACPI fixed-hardware power-management registers live and what
// their bits mean. One header shared by the device model (acpi_pm.h) and the
// FADT/DSDT builder (src/firmware), so the tables always describe the
// hardware keel emulates. Header-only: including it links nothing.
//
// The layout is the PIIX4 PM block at I/O 0x600, as on QEMU's `pc` machine
// (ACPI 6.3 section 4.8.3 "PM1 Event/Control Grouping", "Power Management
// Timer"; PIIX4 datasheet, "Power Management I/O Space"):
//   0x600  PM1_STS  16 bits  \ PM1a_EVT_BLK, 4 bytes
//   0x602  PM1_EN   16 bits  /
//   0x604  PM1_CNT  16 bits    PM1a_CNT_BLK, 2 bytes
//   0x606  reserved 16 bits
//   0x608  PM_TMR   32 bits    PM_TMR_BLK, 4 bytes (24-bit counter)
#pragma once

#include <cstdint>

namespace keel::devices::acpi_pm {

inline constexpr uint16_t kBasePort = 0x600;
// The device claims [kBasePort, kBasePort + kPortCount).
inline constexpr uint64_t kPortCount = 12;

inline constexpr uint16_t kPm1EventBlock = kBasePort;      // PM1a_EVT_BLK
inline constexpr uint8_t kPm1EventLength = 4;              // PM1_EVT_LEN: status + enable
inline constexpr uint16_t kPm1ControlBlock = kBasePort + 4;  // PM1a_CNT_BLK
inline constexpr uint8_t kPm1ControlLength = 2;            // PM1_CNT_LEN
inline constexpr uint16_t kPmTimerBlock = kBasePort + 8;   // PM_TMR_BLK
inline constexpr uint8_t kPmTimerLength = 4;               // PM_TMR_LEN

// Offsets of the registers inside the block.
inline constexpr uint64_t kPm1StatusOffset = 0;
inline constexpr uint64_t kPm1EnableOffset = 2;
inline constexpr uint64_t kPm1ControlOffset = 4;
inline constexpr uint64_t kPmTimerOffset = 8;

// The SCI is ISA IRQ 9, level-triggered and active high (the MADT carries
// the matching interrupt source override), as on QEMU's pc machine.
inline constexpr uint8_t kSciIrq = 9;

// PM1_STS (ACPI 6.3 4.8.3.1.1). Status bits are cleared by writing 1.
inline constexpr uint16_t kTmrSts = 1u << 0;
inline constexpr uint16_t kBmSts = 1u << 4;
inline constexpr uint16_t kGblSts = 1u << 5;
inline constexpr uint16_t kPwrbtnSts = 1u << 8;
inline constexpr uint16_t kSlpbtnSts = 1u << 9;
inline constexpr uint16_t kRtcSts = 1u << 10;
inline constexpr uint16_t kWakSts = 1u << 15;

// PM1_EN (4.8.3.1.2).
inline constexpr uint16_t kTmrEn = 1u << 0;
inline constexpr uint16_t kGblEn = 1u << 5;
inline constexpr uint16_t kPwrbtnEn = 1u << 8;
inline constexpr uint16_t kSlpbtnEn = 1u << 9;
inline constexpr uint16_t kRtcEn = 1u << 10;
inline constexpr uint16_t kPciexpWakeDis = 1u << 14;

// PM1_CNT (4.8.3.2.1).
inline constexpr uint16_t kSciEn = 1u << 0;
inline constexpr uint16_t kBmRld = 1u << 1;
inline constexpr uint16_t kGblRls = 1u << 2;
inline constexpr uint16_t kPm1CntIgnored = 1u << 9;  // "ignore" bit OSPM preserves
inline constexpr unsigned kSlpTypShift = 10;
inline constexpr uint16_t kSlpTypMask = 0x7u << kSlpTypShift;
inline constexpr uint16_t kSlpEn = 1u << 13;

// SLP_TYP for soft-off: the value of the DSDT's \_S5 package. PIIX4 encodes
// soft-off as 000 (datasheet, PMCNTRL SUS_TYP) and QEMU's PIIX4 PM powers
// off on it, so keel does the same.
inline constexpr uint8_t kS5SleepType = 0;
// SLP_TYP for suspend to RAM: the value of the DSDT's \_S3 package. QEMU's
// pc machine declares \_S3 = {1, 1, 0, 0} and suspends on SLP_TYP 1; keel
// uses the same value so one guest sees one platform. No other state
// (S1, S2, S4) is declared.
inline constexpr uint8_t kS3SleepType = 1;

// PM timer (section 4.8.3.3): 3.579545 MHz; TMR_STS is set whenever bit 23
// of the counter changes (TMR_VAL_EXT = 0: a 24-bit counter).
inline constexpr uint64_t kTimerHz = 3'579'545;
inline constexpr unsigned kTimerBits = 24;
inline constexpr uint32_t kTimerMask = (1u << kTimerBits) - 1;
inline constexpr uint64_t kTicksPerTmrSts = uint64_t{1} << (kTimerBits - 1);

// The FADT's RESET_REG: the PIIX reset control register at I/O 0xCF9
// (devices/legacy ResetControlPort), one byte; writing RESET_VALUE, which has
// SRST and RCPU (bits 1 and 2) set, resets the machine.
inline constexpr uint16_t kResetRegisterPort = 0xCF9;
inline constexpr uint8_t kResetValue = 0x06;

}  // namespace keel::devices::acpi_pm
