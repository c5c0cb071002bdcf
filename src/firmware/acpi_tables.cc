// ACPI tables per the ACPI 6.3 specification, chapter 5.2. keel describes an
// ordinary fixed-hardware PC like QEMU's `pc` machine (PIIX4 PM): PM1 event
// and control blocks and the PM timer at I/O 0x600 (devices/acpi, layout in
// devices/acpi/pm_registers.h), the SCI on IRQ 9, no SMI_CMD (the platform
// starts in ACPI mode), no GPE blocks, reset through the PIIX reset control
// register at 0xCF9. Not hardware-reduced: Linux then keeps the legacy PIC
// and PIT and routes the PIT through the IOAPIC, and uses the PM timer.
#include "src/firmware/acpi_tables.h"

#include <array>
#include <string>
#include <stdexcept>
#include <vector>

#include "devices/pci/pci_layout.h"
#include "keel/guest_memory.h"
#include "src/firmware/aml.h"
#include "src/firmware/firmware_tables.h"

namespace keel::firmware::acpi {

namespace {

constexpr std::string_view kOemId = "KEEL  ";  // 6 bytes
constexpr std::string_view kOemTableId = "KEELVMM ";  // 8 bytes
constexpr uint32_t kOemRevision = 1;
constexpr std::string_view kCreatorId = "KEEL";
constexpr uint32_t kCreatorRevision = 1;

// The 36-byte System Description Table Header; length and checksum are
// filled in by finish().
ByteWriter begin_table(std::string_view signature, uint8_t revision) {
  ByteWriter out;
  out.fixed_text(signature, 4);
  out.u32(0);  // length: patched in finish()
  out.u8(revision);
  out.u8(0);   // checksum: patched in finish()
  out.fixed_text(kOemId, 6);
  out.fixed_text(kOemTableId, 8);
  out.u32(kOemRevision);
  out.fixed_text(kCreatorId, 4);
  out.u32(kCreatorRevision);
  return out;
}

Bytes finish(ByteWriter& table) {
  table.patch_u32(4, static_cast<uint32_t>(table.size()));
  table.bytes()[9] = 0;
  table.bytes()[9] = checksum_byte(table.bytes());
  return table.take();
}

// Generic Address Structure (5.2.3.2) of a register block in system I/O
// space, written at `offset` of `table`.
void put_io_gas(ByteWriter& table, size_t offset, uint16_t port, uint8_t byte_length, uint8_t access_size) {
  ByteWriter gas;
  gas.u8(gas::kSystemIo);
  gas.u8(static_cast<uint8_t>(byte_length * 8));  // register bit width
  gas.u8(0);                                      // bit offset
  gas.u8(access_size);
  gas.u64(port);
  std::copy(gas.bytes().begin(), gas.bytes().end(), table.bytes().begin() + static_cast<std::ptrdiff_t>(offset));
}

// The CMOS century byte (devices/rtc keeps the century at index 0x32, as the
// IBM AT and QEMU do); Linux's RTC driver reads it when the FADT names it.
constexpr uint8_t kRtcCenturyIndex = 0x32;

Bytes cpu_device(uint32_t index) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const std::string device_name = {'C', kHex[(index >> 8) & 0xF], kHex[(index >> 4) & 0xF], kHex[index & 0xF]};
  // _UID matches the ACPI Processor UID of the MADT Local APIC entry.
  const std::array terms = {aml::name("_HID", aml::string("ACPI0007")), aml::name("_UID", aml::integer(index))};
  return aml::device(device_name, terms);
}

// The legacy ISA devices keel emulates, with the resources their drivers
// (8250_pnp, rtc_cmos, i8042) look for, matching QEMU's pc machine.
std::vector<Bytes> isa_devices() {
  std::vector<Bytes> devices;
  const std::array com1 = {
      aml::name("_HID", aml::eisa_id("PNP0501")), aml::name("_UID", aml::integer(1)),
      aml::name("_CRS", aml::resource_template({aml::io_port(0x3F8, 8), aml::irq_no_flags(4)}))};
  devices.push_back(aml::device("COM1", com1));
  const std::array rtc = {aml::name("_HID", aml::eisa_id("PNP0B00")),
                          aml::name("_CRS", aml::resource_template({aml::io_port(0x70, 2), aml::irq_no_flags(8)}))};
  devices.push_back(aml::device("RTC", rtc));
  const std::array keyboard = {
      aml::name("_HID", aml::eisa_id("PNP0303")),
      aml::name("_CRS", aml::resource_template({aml::io_port(0x60, 1), aml::io_port(0x64, 1), aml::irq_no_flags(1)}))};
  devices.push_back(aml::device("KBD", keyboard));
  const std::array mouse = {aml::name("_HID", aml::eisa_id("PNP0F13")),
                            aml::name("_CRS", aml::resource_template({aml::irq_no_flags(12)}))};
  devices.push_back(aml::device("MOU", mouse));
  return devices;
}

// _PRT (ACPI 6.3, 6.2.13): how each slot's INTA#..INTD# reach the
// interrupt controller. keel has no PCI interrupt links, so every entry
// names a GSI directly: Source 0 and Source Index = the IOAPIC input
// (level-triggered, active-low by the rule for static _PRT GSIs). The
// numbers come from pci_layout::intx_gsi, the same function the host
// bridge uses to wire the lines and fill in Interrupt Line. The Address is
// the device number in the high word and 0xFFFF (any function) in the low
// word; Pin is 0..3 for INTA#..INTD#. Slot 0 (the host bridge) raises no
// interrupts and is left out.
Bytes pci_routing_table() {
  namespace pl = devices::pci_layout;
  std::vector<Bytes> entries;
  for (uint8_t slot = 1; slot < pl::kSlotCount; ++slot) {
    for (uint8_t pin = 0; pin < 4; ++pin) {
      entries.push_back(aml::package({aml::integer((uint32_t{slot} << 16) | 0xFFFF), aml::integer(pin),
                                      aml::integer(0), aml::integer(pl::intx_gsi(slot, pin + 1))}));
    }
  }
  return aml::name("_PRT", aml::package_of(entries));
}

// The PCI host bridge (devices/pci): bus 0, its config ports and the windows
// it forwards to PCI: all I/O ports except the config ports (PC style, as
// QEMU's pc machine), and the 32-bit MMIO window below the ECAM area. PNP0A08
// (PCI Express root bridge) with PNP0A03 as compatible ID, so OSPM uses the
// MCFG's ECAM for extended config space.
Bytes pci_host_bridge_device() {
  namespace pl = devices::pci_layout;
  const std::array terms = {
      aml::name("_HID", aml::eisa_id("PNP0A08")),
      aml::name("_CID", aml::eisa_id("PNP0A03")),
      aml::name("_UID", aml::integer(0)),
      aml::name("_SEG", aml::integer(pl::kEcamSegment)),
      aml::name("_BBN", aml::integer(pl::kEcamFirstBus)),
      aml::name("_CRS", aml::resource_template({
                            aml::word_bus_number(pl::kEcamFirstBus, pl::kEcamLastBus),
                            aml::io_port(pl::kConfigAddressPort, pl::kConfigPortCount),
                            aml::word_io(0x0000, pl::kConfigAddressPort - 1),
                            aml::word_io(pl::kConfigAddressPort + pl::kConfigPortCount, 0xFFFF),
                            aml::dword_memory(static_cast<uint32_t>(pl::kMmioWindowStart),
                                              static_cast<uint32_t>(pl::kMmioWindowEnd - 1)),
                        })),
      pci_routing_table()};
  return aml::device("PCI0", terms);
}

// Linux trusts the MCFG's ECAM area only if the firmware also reserves it
// (E820 or a motherboard resource device); this is the latter.
Bytes motherboard_resources_device() {
  namespace pl = devices::pci_layout;
  const std::array terms = {
      aml::name("_HID", aml::eisa_id("PNP0C02")),
      aml::name("_UID", aml::integer(1)),
      aml::name("_CRS", aml::resource_template({aml::memory32_fixed(static_cast<uint32_t>(pl::kEcamBase),
                                                                    static_cast<uint32_t>(pl::kEcamSize))}))};
  return aml::device("MRES", terms);
}

}  // namespace

Bytes build_dsdt(uint32_t cpu_count) {
  // Revision 2: AML integers are 64 bits wide.
  ByteWriter table = begin_table("DSDT", 2);
  // \_S5: SLP_TYPa, SLP_TYPb for soft-off; OSPM writes SLP_TYPa into
  // PM1_CNT.SLP_TYP with SLP_EN, and the PM device powers off on exactly
  // this value. (No PM1b block, so SLP_TYPb is unused; it repeats SLP_TYPa
  // as QEMU's does.)
  // \_S3 (suspend to RAM) likewise, before \_S5 as in QEMU's DSDT: the
  // value the PM device suspends on ({1, 1, 0, 0} on QEMU's pc too).
  using devices::acpi_pm::kS3SleepType;
  using devices::acpi_pm::kS5SleepType;
  table.append(aml::name(
      "_S3", aml::package({aml::integer(kS3SleepType), aml::integer(kS3SleepType), aml::integer(0), aml::integer(0)})));
  table.append(aml::name(
      "_S5", aml::package({aml::integer(kS5SleepType), aml::integer(kS5SleepType), aml::integer(0), aml::integer(0)})));
  std::vector<Bytes> system_bus;
  for (uint32_t cpu = 0; cpu < cpu_count; ++cpu) system_bus.push_back(cpu_device(cpu));
  for (Bytes& device : isa_devices()) system_bus.push_back(std::move(device));
  system_bus.push_back(pci_host_bridge_device());
  system_bus.push_back(motherboard_resources_device());
  table.append(aml::scope("\\_SB", system_bus));
  return finish(table);
}

Bytes build_facs() {
  // 5.2.10: no checksum, 64 bytes, 64-byte aligned. Required on a platform
  // that is not hardware-reduced: OSPM finds the global lock and the waking
  // vector here. It lies in guest RAM (the E820-reserved BIOS area), so the
  // guest writes its S3 waking vector into it before sleeping and the
  // machine reads it on wake. Both vectors start 0 (= none) and the global
  // lock free. Flags: no S4BIOS_F, and no 64BIT_WAKE_SUPPORTED_F, because
  // keel resumes in real mode only (CS:IP = vector >> 4 : vector & 0xF).
  ByteWriter out;
  out.fixed_text("FACS", 4);
  out.u32(static_cast<uint32_t>(kFacsSize));
  out.u32(0);  // hardware signature
  out.u32(0);  // firmware waking vector
  out.u32(0);  // global lock
  out.u32(0);  // flags
  out.u64(0);  // X firmware waking vector
  out.u8(2);   // version
  out.zeros(3);
  out.u32(0);  // OSPM flags
  out.zeros(24);
  return out.take();
}

Bytes build_fadt(uint64_t dsdt_address, uint64_t facs_address) {
  namespace pm = devices::acpi_pm;
  ByteWriter table = begin_table("FACP", 6);
  table.zeros(kFadtSize - kHeaderSize);
  // The tables live below 1 MiB, so the 32-bit FIRMWARE_CTRL holds the
  // FACS; X_FIRMWARE_CTRL stays 0 because at most one of the two may be
  // non-zero (5.2.9). DSDT and X_DSDT both hold the DSDT (the spec lets
  // X_DSDT override; equal values draw no warning from ACPICA).
  table.patch_u32(fadt::kFirmwareCtrl, static_cast<uint32_t>(facs_address));
  table.patch_u32(fadt::kDsdt, static_cast<uint32_t>(dsdt_address));
  table.patch_u64(fadt::kXDsdt, dsdt_address);
  table.patch_u16(fadt::kSciInt, kSciIrq);
  // SMI_CMD, ACPI_ENABLE and ACPI_DISABLE stay 0: there is no SMM, and the
  // platform is in ACPI mode from the start: SCI_EN always reads 1 (ACPI
  // 6.3 chapter 4.8, "Legacy/ACPI Select and the SCI Interrupt"), and
  // ACPICA does not try a mode switch when SMI_CMD is 0.

  // The fixed-hardware register blocks, both as 32-bit port numbers with
  // lengths and as Generic Address Structures (ACPI 2.0+), with equal
  // addresses so ACPICA sees no 32/64 mismatch.
  table.patch_u32(fadt::kPm1aEvtBlk, pm::kPm1EventBlock);
  table.patch_u32(fadt::kPm1aCntBlk, pm::kPm1ControlBlock);
  table.patch_u32(fadt::kPmTmrBlk, pm::kPmTimerBlock);
  table.bytes()[fadt::kPm1EvtLen] = pm::kPm1EventLength;
  table.bytes()[fadt::kPm1CntLen] = pm::kPm1ControlLength;
  table.bytes()[fadt::kPmTmrLen] = pm::kPmTimerLength;
  // PM1_EVT_BLK is two 16-bit registers (status, enable): word access.
  put_io_gas(table, fadt::kXPm1aEvtBlk, pm::kPm1EventBlock, pm::kPm1EventLength, gas::kWordAccess);
  put_io_gas(table, fadt::kXPm1aCntBlk, pm::kPm1ControlBlock, pm::kPm1ControlLength, gas::kWordAccess);
  put_io_gas(table, fadt::kXPmTmrBlk, pm::kPmTimerBlock, pm::kPmTimerLength, gas::kDwordAccess);
  // No GPE blocks: keel has no general-purpose events (no PCI hotplug), and
  // ACPICA accepts a FADT without them. GPE0_BLK/GPE0_BLK_LEN/X_GPE0_BLK = 0.

  table.patch_u16(fadt::kPLvl2Lat, fadt::kNoC2Latency);
  table.patch_u16(fadt::kPLvl3Lat, fadt::kNoC3Latency);
  table.bytes()[fadt::kCentury] = kRtcCenturyIndex;
  // Legacy devices and an 8042: Linux then probes i8042, RTC and serial.
  table.patch_u16(fadt::kIapcBootArch, fadt::kBootArchLegacyDevices | fadt::kBootArch8042);
  // A fixed-feature power button (PWR_BUTTON clear), no sleep button,
  // a 24-bit PM timer (TMR_VAL_EXT clear), and the reset register.
  table.patch_u32(fadt::kFlags,
                  fadt::kFlagWbinvd | fadt::kFlagProcC1 | fadt::kFlagSleepButton | fadt::kFlagResetRegSup);

  put_io_gas(table, fadt::kResetReg, pm::kResetRegisterPort, 1, gas::kByteAccess);
  table.bytes()[fadt::kResetValue] = pm::kResetValue;
  table.bytes()[fadt::kMinorVersion] = kFadtMinorVersion;
  // SLEEP_CONTROL_REG and SLEEP_STATUS_REG are for hardware-reduced
  // platforms only: left zero.
  return finish(table);
}

Bytes build_madt(uint32_t cpu_count) {
  // Revision 5 (ACPI 6.3).
  ByteWriter table = begin_table("APIC", 5);
  table.u32(static_cast<uint32_t>(layout::kLocalApicBase));
  table.u32(madt::kFlagPcatCompat);  // dual 8259s present (KVM's in-kernel PIC)

  for (uint32_t cpu = 0; cpu < cpu_count; ++cpu) {
    table.u8(madt::kLocalApic);
    table.u8(8);
    table.u8(static_cast<uint8_t>(cpu));  // ACPI processor UID
    table.u8(static_cast<uint8_t>(cpu));  // APIC ID
    table.u32(madt::kLocalApicEnabled);
  }

  table.u8(madt::kIoApic);
  table.u8(12);
  table.u8(static_cast<uint8_t>(cpu_count));  // IOAPIC ID: the first one after the CPUs
  table.u8(0);
  table.u32(static_cast<uint32_t>(layout::kIoApicBase));
  table.u32(0);  // GSI base

  auto override_irq = [&](uint8_t irq, uint32_t gsi, uint16_t flags) {
    table.u8(madt::kInterruptSourceOverride);
    table.u8(10);
    table.u8(0);  // bus: ISA
    table.u8(irq);
    table.u32(gsi);
    table.u16(flags);
  };
  // The PIT's IRQ0 is wired to IOAPIC pin 2 (pin 0 is the 8259 ExtINT), as on
  // real chipsets and in KVM's default routing.
  override_irq(0, 2, 0);
  // The SCI is level-triggered, active high (as QEMU declares it).
  override_irq(kSciIrq, kSciIrq, madt::kPolarityActiveHigh | madt::kTriggerLevel);

  // NMI arrives on LINT1 of every local APIC.
  table.u8(madt::kLocalApicNmi);
  table.u8(6);
  table.u8(0xFF);  // all processors
  table.u16(0);    // flags: conforming
  table.u8(1);     // LINT1
  return finish(table);
}

Bytes build_mcfg() {
  // PCI Firmware Specification 3.2, 4.1.2: 8 reserved bytes, then one
  // allocation structure per ECAM range.
  namespace pl = devices::pci_layout;
  ByteWriter table = begin_table("MCFG", 1);
  table.zeros(8);
  table.u64(pl::kEcamBase);
  table.u16(pl::kEcamSegment);
  table.u8(pl::kEcamFirstBus);
  table.u8(pl::kEcamLastBus);
  table.u32(0);
  return finish(table);
}

Bytes build_xsdt(std::span<const uint64_t> tables) {
  ByteWriter table = begin_table("XSDT", 1);
  for (uint64_t address : tables) table.u64(address);
  return finish(table);
}

Bytes build_rsdt(std::span<const uint64_t> tables) {
  ByteWriter table = begin_table("RSDT", 1);
  for (uint64_t address : tables) {
    if (address > UINT32_MAX) throw std::logic_error("RSDT entry above 4 GiB");
    table.u32(static_cast<uint32_t>(address));
  }
  return finish(table);
}

Bytes build_rsdp(uint64_t rsdt_address, uint64_t xsdt_address) {
  ByteWriter out;
  out.fixed_text("RSD PTR ", 8);
  out.u8(0);  // checksum of the first 20 bytes
  out.fixed_text(kOemId, 6);
  out.u8(2);  // revision: ACPI 2.0+ (XSDT present)
  out.u32(static_cast<uint32_t>(rsdt_address));
  out.u32(static_cast<uint32_t>(kRsdpSize));
  out.u64(xsdt_address);
  out.u8(0);  // extended checksum over all 36 bytes
  out.zeros(3);
  Bytes bytes = out.take();
  bytes[8] = checksum_byte(std::span(bytes).first(20));
  bytes[32] = checksum_byte(bytes);
  return bytes;
}

}  // namespace keel::firmware::acpi
