/* What the probe guest learned about its machine at boot: from the
 * Multiboot info (memory, command line) and the ACPI MADT (CPUs, IOAPIC,
 * interrupt source overrides). Filled once by multiboot.c and acpi.c. */
#pragma once

#include "io.h"

#define PLATFORM_MAX_CPUS 64
#define PLATFORM_MAX_OVERRIDES 16
#define PLATFORM_CMDLINE_MAX 512

struct irq_override {
    uint8_t isa_irq;
    uint32_t gsi;
    uint16_t flags;  /* MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3 */
};

struct platform {
    /* Multiboot */
    char cmdline[PLATFORM_CMDLINE_MAX];
    bool have_mmap;
    uint32_t mmap_entries;
    uint64_t usable_ram_bytes;    /* sum of type-1 mmap entries */
    uint32_t mem_lower_kib, mem_upper_kib;

    /* ACPI */
    bool have_acpi;
    uintptr_t rsdp_address;
    char acpi_oem_id[7];
    bool have_madt;
    uintptr_t lapic_address;
    uint32_t cpu_count;           /* enabled local APIC entries */
    uint8_t cpu_apic_ids[PLATFORM_MAX_CPUS];
    bool have_ioapic;
    uint8_t ioapic_id;
    uintptr_t ioapic_address;
    uint32_t ioapic_gsi_base;
    uint32_t override_count;
    struct irq_override overrides[PLATFORM_MAX_OVERRIDES];
};

extern struct platform platform;

/* Copies what we need out of the Multiboot info (it lives in memory we may
 * reuse later, e.g. the AP trampoline page). */
void multiboot_parse(uint32_t magic, uintptr_t info_address);
/* Finds the RSDP, then the MADT through the XSDT or RSDT. */
void acpi_parse(void);

/* Any ACPI table listed in the XSDT/RSDT, by signature ("FACP"), or the
 * one at `address` (the FADT's DSDT); length and checksum verified, NULL
 * when absent or broken. The table starts with its 36-byte header. */
const void *acpi_find_table(const char signature[4]);
const void *acpi_table_at(uint64_t address);

/* Command line access: "key=value" lookups and the comma-separated
 * value of "tests=". Return false when the key is absent. */
bool cmdline_has_word(const char *word);
bool cmdline_value(const char *key, char *out, size_t out_size);
