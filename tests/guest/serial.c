/* COM1 as the console: polled, so output works with interrupts off and
 * while other suites own the interrupt controllers. */
#include "console.h"
#include "uart_regs.h"

void console_init(void) {
    outb(COM1_BASE + UART_IER, 0x00);
    outb(COM1_BASE + UART_LCR, UART_LCR_DLAB);
    outb(COM1_BASE + UART_DLL, 0x01);  /* 115200 baud = 115200 / 1 */
    outb(COM1_BASE + UART_DLM, 0x00);
    outb(COM1_BASE + UART_LCR, UART_LCR_8N1);
    outb(COM1_BASE + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX | UART_FCR_TRIGGER_14);
    outb(COM1_BASE + UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
}

void console_putc(char c) {
    /* Bounded: a missing or stuck UART must not hang the guest forever. */
    for (int i = 0; i < 100000; i++)
        if (inb(COM1_BASE + UART_LSR) & UART_LSR_THRE) break;
    outb(COM1_BASE + UART_THR, (uint8_t)c);
}

void console_write(const char *s) {
    for (; *s; s++) {
        if (*s == '\n') console_putc('\r');  /* serial terminals want CR LF */
        console_putc(*s);
    }
}
