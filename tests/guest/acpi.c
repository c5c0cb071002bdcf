/* ACPI table discovery (ACPI 6.x, sections 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8
 * XSDT, 5.2.12 MADT). Tables are read in place: no paging, so physical
 * addresses are usable directly. Lengths are checked so that a broken table
 * ends the walk instead of running off into memory. */
#include "console.h"
#include "platform.h"

#define BDA_EBDA_SEGMENT 0x40E
#define BIOS_AREA_START 0xE0000
#define BIOS_AREA_END 0x100000

struct sdt_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));

enum madt_entry_type { MADT_LOCAL_APIC = 0, MADT_IOAPIC = 1, MADT_OVERRIDE = 2 };
#define MADT_LAPIC_ENABLED 0x1

static uint8_t checksum(const void *data, size_t length) {
    const uint8_t *p = data;
    uint8_t sum = 0;
    while (length--) sum += *p++;
    return sum;
}

static bool rsdp_valid(uintptr_t address) {
    const uint8_t *p = phys_to_ptr(address);
    if (memcmp(p, "RSD PTR ", 8) || checksum(p, 20)) return false;
    /* Revision 2+: the extended checksum covers the 36-byte structure. */
    if (p[15] >= 2 && checksum(p, 36)) return false;
    return true;
}

static uintptr_t scan_for_rsdp(uintptr_t start, uintptr_t end) {
    for (uintptr_t p = start & ~(uintptr_t)15; p + 36 <= end; p += 16)
        if (rsdp_valid(p)) return p;
    return 0;
}

static uintptr_t find_rsdp(void) {
    uintptr_t ebda = (uintptr_t)(*(volatile uint16_t *)phys_to_ptr(BDA_EBDA_SEGMENT)) << 4;
    /* The EBDA must lie below 640 KiB; a zero segment means none. */
    if (ebda >= 0x80000 && ebda < 0xA0000) {
        uintptr_t found = scan_for_rsdp(ebda, ebda + 1024);
        if (found) return found;
    }
    return scan_for_rsdp(BIOS_AREA_START, BIOS_AREA_END);
}

static const struct sdt_header *valid_table(uint64_t address) {
    if (!address || address >= 0xFFFFF000ull) return NULL;  /* we only reach 4 GiB */
    const struct sdt_header *table = (const void *)(uintptr_t)address;
    if (table->length < sizeof *table || table->length > (1u << 20)) return NULL;
    if (checksum(table, table->length)) return NULL;
    return table;
}

static void add_override(const uint8_t *entry) {
    if (platform.override_count >= PLATFORM_MAX_OVERRIDES || entry[2] != 0) return;  /* ISA bus only */
    struct irq_override *o = &platform.overrides[platform.override_count++];
    o->isa_irq = entry[3];
    memcpy(&o->gsi, entry + 4, 4);
    memcpy(&o->flags, entry + 8, 2);
}

static void parse_madt(const struct sdt_header *madt) {
    const uint8_t *base = (const uint8_t *)madt;
    if (madt->length < 44) return;
    platform.have_madt = true;
    memcpy(&platform.lapic_address, base + 36, 4);
    for (uint32_t offset = 44; offset + 2 <= madt->length;) {
        const uint8_t *entry = base + offset;
        uint8_t length = entry[1];
        if (length < 2 || offset + length > madt->length) break;
        if (entry[0] == MADT_LOCAL_APIC && length >= 8) {
            uint32_t flags;
            memcpy(&flags, entry + 4, 4);
            if ((flags & MADT_LAPIC_ENABLED) && platform.cpu_count < PLATFORM_MAX_CPUS)
                platform.cpu_apic_ids[platform.cpu_count++] = entry[3];
        } else if (entry[0] == MADT_IOAPIC && length >= 12 && !platform.have_ioapic) {
            /* One IOAPIC is all a PC needs for the ISA IRQs: take the first. */
            platform.have_ioapic = true;
            platform.ioapic_id = entry[2];
            uint32_t address;
            memcpy(&address, entry + 4, 4);
            platform.ioapic_address = address;
            memcpy(&platform.ioapic_gsi_base, entry + 8, 4);
        } else if (entry[0] == MADT_OVERRIDE && length >= 10) {
            add_override(entry);
        }
        offset += length;
    }
}

void acpi_parse(void) {
    platform.lapic_address = 0xFEE00000;  /* architectural default */
    uintptr_t rsdp = find_rsdp();
    if (!rsdp) return;
    platform.have_acpi = true;
    platform.rsdp_address = rsdp;
    const uint8_t *r = (const uint8_t *)rsdp;
    memcpy(platform.acpi_oem_id, r + 9, 6);
    platform.acpi_oem_id[6] = '\0';

    const struct sdt_header *madt = acpi_find_table("APIC");
    if (madt) parse_madt(madt);
}

/* Any table by signature, through the XSDT (preferred, as the spec asks)
 * or the RSDT (NULL when absent or broken): the MADT here, the FADT for
 * the ACPI suites. */
const void *acpi_find_table(const char signature[4]) {
    if (!platform.have_acpi) return NULL;
    const uint8_t *r = (const uint8_t *)platform.rsdp_address;
    uint32_t rsdt_address;
    uint64_t xsdt_address = 0;
    memcpy(&rsdt_address, r + 16, 4);
    if (r[15] >= 2) memcpy(&xsdt_address, r + 24, 8);
    const struct sdt_header *root = valid_table(xsdt_address);
    size_t entry_size = 8;
    if (!root || memcmp(root->signature, "XSDT", 4)) {
        root = valid_table(rsdt_address);
        entry_size = 4;
        if (!root || memcmp(root->signature, "RSDT", 4)) return NULL;
    }
    const uint8_t *entries = (const uint8_t *)root + sizeof *root;
    size_t count = (root->length - sizeof *root) / entry_size;
    for (size_t i = 0; i < count; i++) {
        uint64_t address = 0;
        memcpy(&address, entries + i * entry_size, entry_size);
        const struct sdt_header *table = valid_table(address);
        if (table && !memcmp(table->signature, signature, 4)) return table;
    }
    return NULL;
}

/* A table the FADT points to (the DSDT is not listed in the RSDT/XSDT):
 * checked like the others. */
const void *acpi_table_at(uint64_t address) { return valid_table(address); }
