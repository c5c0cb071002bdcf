/* IDT, legacy PIC, local APIC and IOAPIC: everything the suites need to take
 * an ISA interrupt. The 8259 PICs are remapped and fully masked; ISA IRQs
 * reach the BSP through the IOAPIC only, one at a time while a suite runs. */
#pragma once

#include "io.h"

struct interrupt_frame {
    uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    uint32_t vector, error_code;
    uint32_t eip, cs, eflags;
};

#define PIC_VECTOR_BASE 0x20      /* 0x20-0x2F: remapped 8259 (masked) */
#define ISA_IRQ_VECTOR_BASE 0x30  /* 0x30-0x3F: ISA IRQ n via the IOAPIC */
#define SPURIOUS_VECTOR 0xFF

#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_TPR 0x080
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310

typedef void (*irq_handler)(void);

/* Loads the IDT, remaps and masks the PICs, enables the local APIC and
 * masks every IOAPIC pin. Call after acpi_parse(). */
void interrupts_init(void);

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);
uint8_t lapic_id(void);

/* The IOAPIC pin for an ISA IRQ, honouring MADT interrupt source overrides
 * (e.g. IRQ 0 -> GSI 2). Returns false if no IOAPIC serves it. */
bool isa_irq_to_pin(uint8_t isa_irq, uint32_t *pin, uint32_t *gsi);
/* Routes ISA IRQ `isa_irq` to vector ISA_IRQ_VECTOR_BASE + isa_irq on the
 * BSP (fixed delivery, physical destination) and unmasks it. */
bool isa_irq_enable(uint8_t isa_irq, irq_handler handler);
void isa_irq_disable(uint8_t isa_irq);
uint32_t ioapic_pin_count(void);

/* Vectors for PCI devices (MSI-X messages, or an IOAPIC pin from the
 * Interrupt Line register): 0x50-0x5F. Every vector >= 0x30 gets a LAPIC
 * EOI after its handler. */
#define PCI_VECTOR_BASE 0x50
/* Installs (or, with NULL, removes) the handler of one vector. */
void interrupt_set_handler(uint8_t vector, irq_handler handler);
/* Routes IOAPIC input `gsi` to `vector` on the BSP (fixed delivery,
 * physical destination) with the given trigger mode and polarity, unmasked.
 * False when no IOAPIC pin serves the GSI. */
bool ioapic_route_gsi(uint32_t gsi, uint8_t vector, bool level, bool active_low);
void ioapic_mask_gsi(uint32_t gsi);
uint8_t ioapic_version(void);
