/* Demo mode (`keel run` without a kernel boots the probe with "demo"): a
 * human-readable tour of what the guest finds, no pass/fail. */
#include "console.h"
#include "i8042_io.h"
#include "interrupts.h"
#include "platform.h"
#include "rtc_clock.h"
#include "suites.h"
#include "uart_regs.h"

static void show_memory(void) {
    if (platform.have_mmap)
        printf("probe demo: memory %llu MiB usable (multiboot memory map, %u entries)\n",
               (unsigned long long)(platform.usable_ram_bytes >> 20), platform.mmap_entries);
    else
        printf("probe demo: memory %u KiB low + %u KiB high (no memory map)\n", platform.mem_lower_kib,
               platform.mem_upper_kib);
}

static void show_cpus_and_ioapic(void) {
    if (!platform.have_acpi) {
        printf("probe demo: ACPI RSDP not found\n");
        return;
    }
    printf("probe demo: ACPI RSDP at 0x%x (OEM '%s')\n", (unsigned)platform.rsdp_address, platform.acpi_oem_id);
    printf("probe demo: %u CPU(s), APIC IDs", platform.cpu_count);
    for (uint32_t i = 0; i < platform.cpu_count; i++) printf(" %u", platform.cpu_apic_ids[i]);
    printf("; this CPU is APIC ID %u\n", lapic_id());
    if (platform.have_ioapic)
        printf("probe demo: IOAPIC ID %u at 0x%08x, version 0x%02x, %u pins from GSI %u\n", platform.ioapic_id,
               (unsigned)platform.ioapic_address, ioapic_version(), ioapic_pin_count(), platform.ioapic_gsi_base);
    else
        printf("probe demo: no IOAPIC in the MADT\n");
    for (uint32_t i = 0; i < platform.override_count; i++)
        printf("probe demo: ISA IRQ %u -> GSI %u (flags 0x%x)\n", platform.overrides[i].isa_irq,
               platform.overrides[i].gsi, platform.overrides[i].flags);
}

static void show_rtc(void) {
    struct rtc_time t;
    if (!rtc_read_time(&t)) {
        printf("probe demo: RTC did not settle\n");
        return;
    }
    printf("probe demo: RTC %04u-%02u-%02u %02u:%02u:%02u\n", t.year, t.month, t.day, t.hour, t.minute, t.second);
}

/* The classic detection: no scratch register -> 8250; FCR enable not
 * reflected in IIR bits 7:6 -> 16450; 11 -> 16550A. */
static const char *uart_type(void) {
    outb(COM1_BASE + UART_SCR, 0x5A);
    if (inb(COM1_BASE + UART_SCR) != 0x5A) return "8250 (no scratch register)";
    uint8_t iir = inb(COM1_BASE + UART_IIR);
    if ((iir & 0xC0) == 0xC0) return "16550A (FIFO works)";
    if (iir & 0x80) return "16550 (broken FIFO)";
    return "16450 (no FIFO)";
}

static void show_i8042(void) {
    i8042_flush();
    int result = -1;
    if (i8042_command(0xAA)) result = i8042_read(0);
    if (result < 0)
        printf("probe demo: i8042 did not answer its self-test\n");
    else
        printf("probe demo: i8042 self-test 0x%02x (%s)\n", result, result == 0x55 ? "passed" : "failed");
}

void demo_run(void) {
    printf("probe demo: keel probe guest, command line '%s'\n", platform.cmdline);
    show_memory();
    show_cpus_and_ioapic();
    show_rtc();
    printf("probe demo: COM1 UART %s\n", uart_type());
    show_i8042();
    printf("probe demo: done\n");
}
