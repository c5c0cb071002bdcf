/* uart suite: the COM1 16550A (National PC16550D datasheet). COM1 is also
 * the console, so every check restores the console set-up before it
 * reports; nothing is printed while the UART is in an odd state. */
#include "console.h"
#include "interrupts.h"
#include "suites.h"
#include "tap.h"
#include "uart_regs.h"

#define COM1_IRQ 4

static uint8_t reg_read(uint8_t reg) { return inb(COM1_BASE + reg); }
static void reg_write(uint8_t reg, uint8_t value) { outb(COM1_BASE + reg, value); }

static bool wait_lsr(uint8_t bits) {
    for (int i = 0; i < 100000; i++)
        if ((reg_read(UART_LSR) & bits) == bits) return true;
    return false;
}

static void check_scratch(void) {
    reg_write(UART_SCR, 0x55);
    uint8_t first = reg_read(UART_SCR);
    reg_write(UART_SCR, 0xAA);
    uint8_t second = reg_read(UART_SCR);
    tap_check(first == 0x55 && second == 0xAA, "scratch register holds a byte", "wrote 55/AA, read %02x/%02x", first,
              second);
}

static void check_divisor_latch(void) {
    reg_write(UART_LCR, UART_LCR_DLAB | UART_LCR_8N1);
    uint8_t lcr = reg_read(UART_LCR);
    reg_write(UART_DLL, 0x34);
    reg_write(UART_DLM, 0x12);
    uint8_t dll = reg_read(UART_DLL), dlm = reg_read(UART_DLM);
    console_init();
    /* With DLAB clear again, offset 1 is IER (0 after console_init). */
    uint8_t ier = reg_read(UART_IER);
    tap_check(lcr == 0x83 && dll == 0x34 && dlm == 0x12 && ier == 0, "divisor latch round-trip",
              "LCR %02x DLL %02x DLM %02x then IER %02x", lcr, dll, dlm, ier);
}

/* IER bits 7:4 are always 0 on a 16550 (datasheet, table "Summary of
 * Registers"). OUT2 is clear, so enabling sources here raises no IRQ. */
static void check_ier_reserved_bits(void) {
    reg_write(UART_IER, 0xFF);
    uint8_t ier = reg_read(UART_IER);
    reg_write(UART_IER, 0x00);
    (void)reg_read(UART_IIR);  /* acknowledge a THRE that enabling ETBEI raised */
    tap_check(ier == 0x0F, "IER keeps bits 3:0 only", "wrote ff, read %02x", ier);
}

static void check_idle_status(void) {
    bool idle = wait_lsr(UART_LSR_THRE | UART_LSR_TEMT);
    uint8_t lsr = reg_read(UART_LSR);
    tap_check(idle && (lsr & (UART_LSR_THRE | UART_LSR_TEMT)) == 0x60, "LSR THRE and TEMT set when idle", "LSR %02x",
              lsr);
    /* IER is 0, so nothing can be pending; FIFOs are on, so IIR bits 7:6 = 11. */
    uint8_t iir = reg_read(UART_IIR);
    tap_check(iir == (UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT), "IIR reads C1 (FIFO on, no interrupt pending)",
              "IIR %02x", iir);
}

struct loopback_result {
    bool data_ready, byte_ok, ready_cleared;
    uint8_t byte, lsr_after;
    uint8_t msr[4];
};

/* Loopback (MCR bit 4): THR feeds RBR; RTS->CTS, DTR->DSR, OUT1->RI,
 * OUT2->DCD inside the chip. Only the upper nibble of MSR is compared:
 * the delta bits depend on history. */
static const uint8_t loop_mcr[4] = {UART_MCR_LOOP, UART_MCR_LOOP | UART_MCR_DTR, UART_MCR_LOOP | UART_MCR_RTS,
                                    UART_MCR_LOOP | 0x0F};
static const uint8_t loop_msr[4] = {0x00, UART_MSR_DSR, UART_MSR_CTS, 0xF0};

static struct loopback_result run_loopback(void) {
    struct loopback_result r = {0};
    wait_lsr(UART_LSR_TEMT);  /* let the console finish first */
    reg_write(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_RTS);
    for (int i = 0; i < 64 && (reg_read(UART_LSR) & UART_LSR_DR); i++) (void)reg_read(UART_RBR);
    reg_write(UART_THR, 0x5A);
    r.data_ready = wait_lsr(UART_LSR_DR);
    r.byte = reg_read(UART_RBR);
    r.byte_ok = r.byte == 0x5A;
    r.lsr_after = reg_read(UART_LSR);
    r.ready_cleared = !(r.lsr_after & UART_LSR_DR);
    for (int i = 0; i < 4; i++) {
        reg_write(UART_MCR, loop_mcr[i]);
        r.msr[i] = reg_read(UART_MSR) & 0xF0;
    }
    console_init();
    return r;
}

static void check_loopback(void) {
    struct loopback_result r = run_loopback();
    tap_check(r.data_ready && r.byte_ok, "loopback byte returns in RBR with LSR.DR", "DR %d, byte %02x", r.data_ready,
              r.byte);
    tap_check(r.ready_cleared, "LSR.DR clears after reading RBR", "LSR %02x", r.lsr_after);
    bool msr_ok = true;
    for (int i = 0; i < 4; i++) msr_ok = msr_ok && r.msr[i] == loop_msr[i];
    tap_check(msr_ok, "loopback modem status follows MCR", "MSR %02x %02x %02x %02x, want 00 20 10 f0", r.msr[0],
              r.msr[1], r.msr[2], r.msr[3]);
}

static volatile unsigned thre_interrupts, other_interrupts;
static volatile uint8_t last_iir;

/* Reading IIR while it reports THRE clears that interrupt (datasheet,
 * table "Interrupt Control Functions"). Bounded in case a source sticks. */
static void uart_irq_handler(void) {
    for (int i = 0; i < 8; i++) {
        uint8_t iir = reg_read(UART_IIR);
        if (iir & UART_IIR_NO_INT) break;
        last_iir = iir;
        if ((iir & UART_IIR_ID_MASK) == UART_IIR_THRE)
            thre_interrupts++;
        else
            other_interrupts++;
    }
}

static bool wait_count(volatile unsigned *counter, unsigned target) {
    for (int i = 0; i < 200000; i++) {
        if (*counter >= target) return true;
        cpu_relax();
    }
    return *counter >= target;
}

static void check_thre_interrupt(void) {
    if (!isa_irq_enable(COM1_IRQ, uart_irq_handler)) {
        tap_skip("THRE interrupt via IOAPIC", "no IOAPIC pin for IRQ %d", COM1_IRQ);
        return;
    }
    wait_lsr(UART_LSR_TEMT);
    thre_interrupts = other_interrupts = 0;
    last_iir = 0;
    /* OUT2 gates the UART's interrupt line on PCs. Enabling ETBEI with the
     * holding register empty raises THRE at once. */
    reg_write(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
    reg_write(UART_IER, UART_IER_ETBEI);
    bool first = wait_count(&thre_interrupts, 1);
    /* Sending a byte empties the holding register again: a second THRE. */
    reg_write(UART_THR, '\r');
    bool second = wait_count(&thre_interrupts, 2);
    reg_write(UART_IER, 0);
    isa_irq_disable(COM1_IRQ);
    console_init();
    tap_check(first, "THRE interrupt when ETBEI is enabled (IRQ 4)", "%u THRE, %u other, last IIR %02x",
              thre_interrupts, other_interrupts, last_iir);
    tap_check(second, "THRE interrupt again after a transmit", "%u THRE, %u other, last IIR %02x", thre_interrupts,
              other_interrupts, last_iir);
    tap_check(other_interrupts == 0, "no other interrupt sources", "%u other, last IIR %02x", other_interrupts,
              last_iir);
}

void suite_uart(void) {
    check_scratch();
    check_divisor_latch();
    check_ier_reserved_bits();
    check_idle_status();
    check_loopback();
    check_thre_interrupt();
}
