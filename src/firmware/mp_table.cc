// Intel MultiProcessor Specification, version 1.4, chapter 4.
#include "src/firmware/mp_table.h"

#include "keel/guest_memory.h"
#include "src/firmware/acpi_tables.h"

namespace keel::firmware::mp {

namespace {

constexpr uint8_t kSpecRevision = 4;  // 1.4

enum EntryType : uint8_t { kProcessor = 0, kBus = 1, kIoApic = 2, kIoInterrupt = 3, kLocalInterrupt = 4 };
enum InterruptType : uint8_t { kInt = 0, kNmi = 1, kSmi = 2, kExtInt = 3 };

constexpr uint8_t kLocalApicVersion = 0x14;  // integrated APIC, as KVM reports
constexpr uint8_t kIoApicVersion = 0x11;     // 82093AA, as KVM's IOAPIC reports
constexpr uint8_t kCpuEnabled = 1u << 0;
constexpr uint8_t kCpuBootstrap = 1u << 1;
constexpr uint32_t kCpuSignature = 0x600;      // family 6: only informational
constexpr uint32_t kCpuFeatures = 0x201;       // FPU | APIC: what the MP spec asks to report
constexpr uint8_t kIsaBusId = 0;
constexpr uint8_t kAllLocalApics = 0xFF;
constexpr uint16_t kConformingFlags = 0;
// INTI flags as in the MADT: bits 1:0 polarity, bits 3:2 trigger mode.
constexpr uint16_t kLevelActiveHigh = acpi::madt::kPolarityActiveHigh | acpi::madt::kTriggerLevel;

void io_interrupt(ByteWriter& out, uint8_t isa_irq, uint8_t ioapic_id, uint8_t pin, uint16_t flags) {
  out.u8(kIoInterrupt);
  out.u8(kInt);
  out.u16(flags);
  out.u8(kIsaBusId);
  out.u8(isa_irq);
  out.u8(ioapic_id);
  out.u8(pin);
}

void local_interrupt(ByteWriter& out, InterruptType type, uint8_t lint) {
  out.u8(kLocalInterrupt);
  out.u8(type);
  out.u16(kConformingFlags);
  out.u8(kIsaBusId);
  out.u8(0);
  out.u8(kAllLocalApics);
  out.u8(lint);
}

}  // namespace

Bytes build_config_table(uint32_t cpu_count) {
  ByteWriter out;
  out.fixed_text("PCMP", 4);
  out.u16(0);  // base table length: patched below
  out.u8(kSpecRevision);
  out.u8(0);   // checksum: patched below
  out.fixed_text("KEEL", 8);       // OEM ID
  out.fixed_text("KEEL VMM", 12);  // product ID
  out.u32(0);  // OEM table pointer
  out.u16(0);  // OEM table size
  out.u16(0);  // entry count: patched below
  out.u32(static_cast<uint32_t>(layout::kLocalApicBase));
  out.u16(0);  // extended table length
  out.u8(0);   // extended table checksum
  out.u8(0);

  // Entries must appear sorted by type (spec 4.3).
  uint16_t entries = 0;
  for (uint32_t cpu = 0; cpu < cpu_count; ++cpu, ++entries) {
    out.u8(kProcessor);
    out.u8(static_cast<uint8_t>(cpu));  // local APIC ID
    out.u8(kLocalApicVersion);
    out.u8(static_cast<uint8_t>(kCpuEnabled | (cpu == 0 ? kCpuBootstrap : 0)));
    out.u32(kCpuSignature);
    out.u32(kCpuFeatures);
    out.zeros(8);
  }

  out.u8(kBus);
  out.u8(kIsaBusId);
  out.fixed_text("ISA", 6);
  ++entries;

  const auto ioapic_id = static_cast<uint8_t>(cpu_count);
  out.u8(kIoApic);
  out.u8(ioapic_id);
  out.u8(kIoApicVersion);
  out.u8(1);  // enabled
  out.u32(static_cast<uint32_t>(layout::kIoApicBase));
  ++entries;

  // ISA IRQs: IRQ0 (PIT) on pin 2, the rest identity-mapped. IRQ2 is the
  // 8259 cascade and has no IOAPIC pin of its own (pin 2 is IRQ0's).
  for (uint8_t irq = 0; irq < 16; ++irq) {
    if (irq == 2) continue;
    const uint8_t pin = irq == 0 ? 2 : irq;
    const uint16_t flags = irq == acpi::kSciIrq ? kLevelActiveHigh : kConformingFlags;
    io_interrupt(out, irq, ioapic_id, pin, flags);
    ++entries;
  }

  local_interrupt(out, kExtInt, 0);
  local_interrupt(out, kNmi, 1);
  entries += 2;

  out.patch_u16(4, static_cast<uint16_t>(out.size()));
  out.patch_u16(34, entries);
  out.bytes()[7] = checksum_byte(out.bytes());
  return out.take();
}

Bytes build_floating_pointer(uint64_t config_table_address) {
  ByteWriter out;
  out.fixed_text("_MP_", 4);
  out.u32(static_cast<uint32_t>(config_table_address));
  out.u8(1);  // length in 16-byte paragraphs
  out.u8(kSpecRevision);
  out.u8(0);  // checksum: patched below
  out.u8(0);  // feature byte 1: 0 = a configuration table is present
  out.u8(0);  // feature byte 2: IMCR absent, virtual wire mode
  out.zeros(3);
  out.bytes()[10] = checksum_byte(out.bytes());
  return out.take();
}

}  // namespace keel::firmware::mp
