// Offsets of the fields keel reads or writes in a Linux bzImage's setup
// header and in struct boot_params (the "zero page"), from the kernel's
// Documentation/arch/x86/boot.rst and zero-page.rst. The setup header sits
// at the same offsets in the image's first sector and in boot_params.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::boot::linux_abi {

// struct boot_params
inline constexpr uint64_t kBootParamsSize = 0x1000;
inline constexpr uint64_t kAcpiRsdpAddr = 0x070;     // u64, protocol 2.14+
inline constexpr uint64_t kExtRamdiskImage = 0x0C0;  // u32: high half of ramdisk_image
inline constexpr uint64_t kExtRamdiskSize = 0x0C4;   // u32
inline constexpr uint64_t kExtCmdLinePtr = 0x0C8;    // u32
inline constexpr uint64_t kE820Entries = 0x1E8;      // u8
inline constexpr uint64_t kSetupHeader = 0x1F1;      // struct setup_header starts here
inline constexpr uint64_t kSetupHeaderLimit = 0x290; // edd_mbr_sig_buffer: the header cannot reach it
inline constexpr uint64_t kE820Table = 0x2D0;        // struct boot_e820_entry[128]
inline constexpr uint64_t kE820EntrySize = 20;       // u64 addr, u64 size, u32 type (packed)
inline constexpr size_t kE820MaxEntries = 128;

// struct setup_header (offsets from the start of boot_params / the image)
inline constexpr uint64_t kSetupSects = 0x1F1;     // u8; 0 means 4
inline constexpr uint64_t kVidMode = 0x1FA;        // u16
inline constexpr uint64_t kBootFlag = 0x1FE;       // u16 = 0xAA55
inline constexpr uint64_t kJump = 0x200;           // u8 0xEB, then the header length - 2 at 0x201
inline constexpr uint64_t kHeaderMagic = 0x202;    // "HdrS"
inline constexpr uint64_t kVersion = 0x206;        // u16
inline constexpr uint64_t kTypeOfLoader = 0x210;   // u8
inline constexpr uint64_t kLoadFlags = 0x211;      // u8
inline constexpr uint64_t kCode32Start = 0x214;    // u32
inline constexpr uint64_t kRamdiskImage = 0x218;   // u32
inline constexpr uint64_t kRamdiskSize = 0x21C;    // u32
inline constexpr uint64_t kHeapEndPtr = 0x224;     // u16
inline constexpr uint64_t kCmdLinePtr = 0x228;     // u32
inline constexpr uint64_t kInitrdAddrMax = 0x22C;  // u32, inclusive
inline constexpr uint64_t kKernelAlignment = 0x230;  // u32
inline constexpr uint64_t kRelocatableKernel = 0x234;  // u8
inline constexpr uint64_t kXLoadFlags = 0x236;     // u16
inline constexpr uint64_t kCmdlineSize = 0x238;    // u32, without the NUL
inline constexpr uint64_t kSetupData = 0x250;      // u64: head of a linked list
inline constexpr uint64_t kPrefAddress = 0x258;    // u64
inline constexpr uint64_t kInitSize = 0x260;       // u32
inline constexpr uint64_t kInitSizeEnd = 0x264;    // the header must reach this far

inline constexpr uint16_t kBootFlagValue = 0xAA55;
inline constexpr uint32_t kHeaderMagicValue = 0x5372'6448;  // "HdrS" little-endian
inline constexpr uint16_t kMinVersion = 0x0206;
inline constexpr uint16_t kXLoadFlagsVersion = 0x020C;  // 2.12
inline constexpr uint16_t kAcpiRsdpVersion = 0x020E;    // 2.14
inline constexpr uint8_t kLoadedHigh = 0x01;
inline constexpr uint8_t kCanUseHeap = 0x80;
inline constexpr uint16_t kXlfKernel64 = 0x0001;
inline constexpr uint8_t kTypeOfLoaderUndefined = 0xFF;
inline constexpr uint16_t kVidModeNormal = 0xFFFF;
inline constexpr uint32_t kDefaultInitrdAddrMax = 0x37FF'FFFF;
// heap_end_ptr is relative to the real-mode code, which boot loaders put at
// 0x10000 below a command line at 0x20000: the heap ends where the command
// line starts (what QEMU writes too). Unused on the 64-bit entry path.
inline constexpr uint16_t kHeapEndPtrValue = 0xFE00;
inline constexpr uint64_t kEntry64Offset = 0x200;  // startup_64 relative to the load address

}  // namespace keel::boot::linux_abi
