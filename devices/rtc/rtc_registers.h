// MC146818A register indices and bits (Motorola datasheet), plus the IBM PC
// CMOS layout bytes keel fills in.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::devices::rtc {

// Index register (port 0x70): bits 6:0 select one of 128 bytes; bit 7 is the
// PC's NMI-disable gate, not part of the address.
inline constexpr uint8_t kIndexMask = 0x7f;
inline constexpr uint8_t kNmiDisable = 0x80;
inline constexpr std::size_t kCmosSize = 128;

// Clock and control registers.
inline constexpr uint8_t kSeconds = 0x00;
inline constexpr uint8_t kSecondsAlarm = 0x01;
inline constexpr uint8_t kMinutes = 0x02;
inline constexpr uint8_t kMinutesAlarm = 0x03;
inline constexpr uint8_t kHours = 0x04;
inline constexpr uint8_t kHoursAlarm = 0x05;
inline constexpr uint8_t kDayOfWeek = 0x06;
inline constexpr uint8_t kDayOfMonth = 0x07;
inline constexpr uint8_t kMonth = 0x08;
inline constexpr uint8_t kYear = 0x09;
inline constexpr uint8_t kRegA = 0x0a;
inline constexpr uint8_t kRegB = 0x0b;
inline constexpr uint8_t kRegC = 0x0c;
inline constexpr uint8_t kRegD = 0x0d;
inline constexpr uint8_t kFirstNvram = 0x0e;
// Century byte: IBM AT/QEMU keep it at 0x32; 0x37 is the PS/2 location,
// which QEMU aliases to 0x32.
inline constexpr uint8_t kCentury = 0x32;
inline constexpr uint8_t kPs2Century = 0x37;

// Register A
inline constexpr uint8_t kRegAUip = 0x80;
inline constexpr uint8_t kRegADividerMask = 0x70;
inline constexpr uint8_t kRegADivider32k = 0x20;  // DV2-0 = 010: 32.768 kHz time base
inline constexpr uint8_t kRegARateMask = 0x0f;

// Register B
inline constexpr uint8_t kRegBSet = 0x80;
inline constexpr uint8_t kRegBPie = 0x40;
inline constexpr uint8_t kRegBAie = 0x20;
inline constexpr uint8_t kRegBUie = 0x10;
inline constexpr uint8_t kRegBSqwe = 0x08;
inline constexpr uint8_t kRegBBinary = 0x04;  // DM
inline constexpr uint8_t kRegB24Hour = 0x02;
inline constexpr uint8_t kRegBDse = 0x01;

// Register C. PF/AF/UF sit at the same bit positions as PIE/AIE/UIE in B.
inline constexpr uint8_t kRegCIrqf = 0x80;
inline constexpr uint8_t kRegCPf = 0x40;
inline constexpr uint8_t kRegCAf = 0x20;
inline constexpr uint8_t kRegCUf = 0x10;
inline constexpr uint8_t kInterruptSources = 0x70;

// Register D
inline constexpr uint8_t kRegDVrt = 0x80;

// Alarm bytes with both top bits set match any value.
inline constexpr uint8_t kAlarmDontCare = 0xc0;

// Power-on values, as QEMU has them.
inline constexpr uint8_t kRegAPowerOn = 0x26;  // 32.768 kHz, 1024 Hz periodic rate
inline constexpr uint8_t kRegBPowerOn = 0x02;  // 24-hour, BCD, no interrupts

// IBM PC CMOS layout.
inline constexpr uint8_t kFloppyTypes = 0x10;
inline constexpr uint8_t kEquipment = 0x14;
inline constexpr uint8_t kEquipmentFpuAndPs2Mouse = 0x06;  // what QEMU reports without floppies
inline constexpr uint8_t kBaseMemoryLow = 0x15;
inline constexpr uint8_t kBaseMemoryHigh = 0x16;
inline constexpr uint8_t kExtendedMemoryLow = 0x17;
inline constexpr uint8_t kExtendedMemoryHigh = 0x18;
inline constexpr uint8_t kChecksumFirst = 0x10;
inline constexpr uint8_t kChecksumLast = 0x2d;
inline constexpr uint8_t kChecksumHigh = 0x2e;
inline constexpr uint8_t kChecksumLow = 0x2f;
inline constexpr uint8_t kExtendedMemoryCopyLow = 0x30;
inline constexpr uint8_t kExtendedMemoryCopyHigh = 0x31;
inline constexpr uint8_t kMemoryAbove16MLow = 0x34;
inline constexpr uint8_t kMemoryAbove16MHigh = 0x35;
inline constexpr uint8_t kMemoryAbove4GLow = 0x5b;
inline constexpr uint8_t kMemoryAbove4GMid = 0x5c;
inline constexpr uint8_t kMemoryAbove4GHigh = 0x5d;

}  // namespace keel::devices::rtc
