/* Interrupt controllers: Intel SDM vol. 3 ch. 6 (IDT) and 10/11 (local
 * APIC), 82093AA IOAPIC datasheet, 8259A datasheet. */
#include "interrupts.h"

#include "console.h"
#include "platform.h"
#include "tap.h"

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REDIRECTION(pin) (0x10 + 2 * (pin))
#define IOAPIC_MASKED (1u << 16)
#define IOAPIC_LEVEL (1u << 15)
#define IOAPIC_ACTIVE_LOW (1u << 13)

#define LAPIC_SVR_ENABLE (1u << 8)

struct idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type;  /* 0x8E: present, ring 0, 32-bit interrupt gate */
    uint16_t offset_high;
} __attribute__((packed));

extern const uint8_t isr_stub_table[];  /* entry.S: 256 stubs, 16 bytes apart */

static struct idt_entry idt[256] __attribute__((aligned(8)));
static volatile irq_handler handlers[256];

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "?", "#TS", "#NP", "#SS", "#GP", "#PF", "?",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "?", "?", "?", "?", "?", "?", "?", "?", "#SX", "?",
};

void interrupt_dispatch(struct interrupt_frame *frame);
void interrupt_dispatch(struct interrupt_frame *frame) {
    uint32_t vector = frame->vector & 0xFF;
    if (vector < 32) {
        /* The probe never raises exceptions on purpose: any is a bug. */
        printf("# probe: exception %u %s at EIP=%08x error=%08x\n", vector, exception_names[vector], frame->eip,
               frame->error_code);
        printf("not ok - unexpected exception %u\n", vector);
        probe_exit(PROBE_EXIT_FAILURE);
    }
    irq_handler handler = handlers[vector];
    if (handler) handler();
    /* Spurious APIC interrupts and masked-PIC leftovers need no EOI. */
    if (vector >= ISA_IRQ_VECTOR_BASE && vector != SPURIOUS_VECTOR) lapic_write(LAPIC_EOI, 0);
}

static void idt_init(void) {
    for (int v = 0; v < 256; v++) {
        uintptr_t stub = (uintptr_t)isr_stub_table + 16u * (uintptr_t)v;
        idt[v] = (struct idt_entry){.offset_low = (uint16_t)stub, .selector = 0x08, .zero = 0, .type = 0x8E,
                                    .offset_high = (uint16_t)(stub >> 16)};
    }
    struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) descriptor = {sizeof idt - 1, (uint32_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(descriptor));
}

/* Remap the 8259s away from the exception vectors (in case anything still
 * reaches them) and mask every line: ISA IRQs go through the IOAPIC. */
static void pic_remap_and_mask(void) {
    outb(0x20, 0x11);  /* ICW1: edge, cascade, ICW4 follows */
    outb(0xA0, 0x11);
    outb(0x21, PIC_VECTOR_BASE);      /* ICW2: vector base */
    outb(0xA1, PIC_VECTOR_BASE + 8);
    outb(0x21, 0x04);  /* ICW3: slave on IR2 */
    outb(0xA1, 0x02);
    outb(0x21, 0x01);  /* ICW4: 8086 mode */
    outb(0xA1, 0x01);
    outb(0x21, 0xFF);  /* OCW1: mask all */
    outb(0xA1, 0xFF);
}

uint32_t lapic_read(uint32_t reg) { return mmio_read32(platform.lapic_address + reg); }
void lapic_write(uint32_t reg, uint32_t value) { mmio_write32(platform.lapic_address + reg, value); }
uint8_t lapic_id(void) { return (uint8_t)(lapic_read(LAPIC_ID) >> 24); }

static uint32_t ioapic_read(uint32_t reg) {
    mmio_write32(platform.ioapic_address + IOAPIC_REGSEL, reg);
    return mmio_read32(platform.ioapic_address + IOAPIC_WINDOW);
}

static void ioapic_write(uint32_t reg, uint32_t value) {
    mmio_write32(platform.ioapic_address + IOAPIC_REGSEL, reg);
    mmio_write32(platform.ioapic_address + IOAPIC_WINDOW, value);
}

uint32_t ioapic_pin_count(void) {
    if (!platform.have_ioapic) return 0;
    return ((ioapic_read(IOAPIC_REG_VERSION) >> 16) & 0xFF) + 1;
}

uint8_t ioapic_version(void) { return platform.have_ioapic ? (uint8_t)ioapic_read(IOAPIC_REG_VERSION) : 0; }

/* ISA defaults: edge-triggered, active high; an override may say otherwise
 * (flags 01 = active high / edge, 11 = active low / level, 00 = bus default). */
static uint32_t override_polarity_trigger(uint16_t flags) {
    uint32_t bits = 0;
    if ((flags & 0x3) == 0x3) bits |= IOAPIC_ACTIVE_LOW;
    if (((flags >> 2) & 0x3) == 0x3) bits |= IOAPIC_LEVEL;
    return bits;
}

static bool isa_irq_lookup(uint8_t isa_irq, uint32_t *pin, uint32_t *gsi, uint32_t *mode_bits) {
    if (!platform.have_ioapic) return false;
    *gsi = isa_irq;
    *mode_bits = 0;
    for (uint32_t i = 0; i < platform.override_count; i++) {
        if (platform.overrides[i].isa_irq == isa_irq) {
            *gsi = platform.overrides[i].gsi;
            *mode_bits = override_polarity_trigger(platform.overrides[i].flags);
        }
    }
    if (*gsi < platform.ioapic_gsi_base) return false;
    *pin = *gsi - platform.ioapic_gsi_base;
    return *pin < ioapic_pin_count();
}

bool isa_irq_to_pin(uint8_t isa_irq, uint32_t *pin, uint32_t *gsi) {
    uint32_t mode_bits;
    return isa_irq_lookup(isa_irq, pin, gsi, &mode_bits);
}

bool isa_irq_enable(uint8_t isa_irq, irq_handler handler) {
    uint32_t pin, gsi, mode_bits;
    if (isa_irq >= 16 || !isa_irq_lookup(isa_irq, &pin, &gsi, &mode_bits)) return false;
    handlers[ISA_IRQ_VECTOR_BASE + isa_irq] = handler;
    ioapic_write(IOAPIC_REDIRECTION(pin) + 1, (uint32_t)lapic_id() << 24);
    ioapic_write(IOAPIC_REDIRECTION(pin), (ISA_IRQ_VECTOR_BASE + isa_irq) | mode_bits);
    return true;
}

void isa_irq_disable(uint8_t isa_irq) {
    uint32_t pin, gsi, mode_bits;
    if (isa_irq >= 16 || !isa_irq_lookup(isa_irq, &pin, &gsi, &mode_bits)) return;
    ioapic_write(IOAPIC_REDIRECTION(pin), IOAPIC_MASKED | (ISA_IRQ_VECTOR_BASE + isa_irq) | mode_bits);
    handlers[ISA_IRQ_VECTOR_BASE + isa_irq] = 0;
}

void interrupt_set_handler(uint8_t vector, irq_handler handler) { handlers[vector] = handler; }

static bool gsi_to_pin(uint32_t gsi, uint32_t *pin) {
    if (!platform.have_ioapic || gsi < platform.ioapic_gsi_base) return false;
    *pin = gsi - platform.ioapic_gsi_base;
    return *pin < ioapic_pin_count();
}

bool ioapic_route_gsi(uint32_t gsi, uint8_t vector, bool level, bool active_low) {
    uint32_t pin;
    if (!gsi_to_pin(gsi, &pin)) return false;
    uint32_t mode_bits = (level ? IOAPIC_LEVEL : 0) | (active_low ? IOAPIC_ACTIVE_LOW : 0);
    ioapic_write(IOAPIC_REDIRECTION(pin) + 1, (uint32_t)lapic_id() << 24);
    ioapic_write(IOAPIC_REDIRECTION(pin), vector | mode_bits);
    return true;
}

/* Back to the state interrupts_init left: masked, spurious vector. */
void ioapic_mask_gsi(uint32_t gsi) {
    uint32_t pin;
    if (gsi_to_pin(gsi, &pin)) ioapic_write(IOAPIC_REDIRECTION(pin), IOAPIC_MASKED | SPURIOUS_VECTOR);
}

void interrupts_init(void) {
    idt_init();
    pic_remap_and_mask();
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
    uint32_t pins = ioapic_pin_count();
    for (uint32_t pin = 0; pin < pins && pin < 240; pin++)
        ioapic_write(IOAPIC_REDIRECTION(pin), IOAPIC_MASKED | SPURIOUS_VECTOR);
}
