/* pit suite: the 8254 PIT channel 0 as a 100 Hz rate generator, its IRQ 0
 * reaching us through the IOAPIC pin named by the MADT override (GSI 2 on
 * PCs), counted against RTC seconds. */
#include "console.h"
#include "interrupts.h"
#include "rtc_clock.h"
#include "suites.h"
#include "tap.h"

#define PIT_CHANNEL0 0x40
#define PIT_MODE 0x43
#define PIT_INPUT_HZ 1193182
#define PIT_HZ 100
#define PIT_IRQ 0
#define MEASURE_SECONDS 2

/* Control word: channel 0, lobyte/hibyte access, mode 2, binary. */
#define PIT_CH0_RATE_GENERATOR 0x34
/* Mode 0 (interrupt on terminal count) fires once and stops: how we leave
 * the channel quiet after the test. */
#define PIT_CH0_ONE_SHOT 0x30

static volatile unsigned timer_interrupts;

static void pit_irq_handler(void) { timer_interrupts++; }

/* Counter latch command (SC = 00, RW = 00): freezes channel 0's count for
 * one lobyte/hibyte read without disturbing the counting. */
static uint16_t pit_read_count(void) {
    uint32_t flags = irq_save();
    outb(PIT_MODE, 0x00);
    uint16_t count = inb(PIT_CHANNEL0);
    count |= (uint16_t)(inb(PIT_CHANNEL0) << 8);
    irq_restore(flags);
    return count;
}

/* In mode 2 the counter runs from the divisor down to 1 and reloads. */
static void check_counter_latch(uint16_t divisor) {
    uint16_t counts[4];
    bool in_range = true, changed = false;
    for (int i = 0; i < 4; i++) {
        counts[i] = pit_read_count();
        in_range = in_range && counts[i] >= 1 && counts[i] <= divisor;
        if (i) changed = changed || counts[i] != counts[i - 1];
        io_delay(10);
    }
    tap_check(in_range && changed, "latched count runs within 1..divisor", "counts %u %u %u %u, divisor %u",
              counts[0], counts[1], counts[2], counts[3], divisor);
}

static void pit_program(uint8_t control, uint16_t count) {
    outb(PIT_MODE, control);
    outb(PIT_CHANNEL0, (uint8_t)count);
    outb(PIT_CHANNEL0, (uint8_t)(count >> 8));
}

void suite_pit(void) {
    uint32_t pin, gsi;
    if (!isa_irq_to_pin(PIT_IRQ, &pin, &gsi)) {
        tap_skip("IRQ 0 rate", "no IOAPIC pin for IRQ 0");
        return;
    }
    tap_diag("IRQ 0 -> GSI %u (IOAPIC pin %u)", gsi, pin);
    timer_interrupts = 0;
    isa_irq_enable(PIT_IRQ, pit_irq_handler);
    uint16_t divisor = (uint16_t)((PIT_INPUT_HZ + PIT_HZ / 2) / PIT_HZ);
    pit_program(PIT_CH0_RATE_GENERATOR, divisor);
    check_counter_latch(divisor);

    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, 2);
    while (!timer_interrupts && !rtc_deadline_expired(&deadline)) {
    }
    bool alive = timer_interrupts > 0;
    bool ticking = alive && rtc_wait_second_boundary_halting();
    unsigned start = timer_interrupts;
    for (int s = 0; s < MEASURE_SECONDS && ticking; s++) ticking = rtc_wait_second_boundary_halting();
    unsigned counted = timer_interrupts - start;

    isa_irq_disable(PIT_IRQ);
    pit_program(PIT_CH0_ONE_SHOT, 0xFFFF);

    unsigned expected = PIT_HZ * MEASURE_SECONDS;
    tap_diag("%u interrupts in %d RTC seconds (expected %u)", counted, MEASURE_SECONDS, expected);
    tap_check(alive, "IRQ 0 arrives through the IOAPIC", "no timer interrupt within 2 s");
    tap_check(ticking && counted * 10 >= expected * 8 && counted * 10 <= expected * 12,
              "channel 0 mode 2 at 100 Hz (+-20%)", "%u interrupts in %d s, RTC ticking %d", counted,
              MEASURE_SECONDS, ticking);
}
