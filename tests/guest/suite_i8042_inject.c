/* i8042-inject suite: keys pressed by the host (keel --send-keys, QEMU's
 * QMP send-key) must arrive as IRQ 1 interrupts carrying set-1 scancodes
 * (translation on, as PCs run). The host waits for the "ready" line. */
#include "console.h"
#include "i8042_io.h"
#include "interrupts.h"
#include "rtc_clock.h"
#include "suites.h"
#include "tap.h"

#define KEYBOARD_IRQ 1
#define WAIT_SECONDS 20

/* "a", "b", "ret": make and break codes in scancode set 1. */
static const uint8_t expected[] = {0x1E, 0x9E, 0x30, 0xB0, 0x1C, 0x9C};
#define EXPECTED_COUNT (sizeof expected / sizeof expected[0])
#define BUFFER_SIZE 32

static volatile uint8_t received[BUFFER_SIZE];
static volatile unsigned received_count, keyboard_interrupts, empty_interrupts, aux_bytes;

/* One byte per interrupt, as the 8042 raises IRQ 1 once per byte it
 * places in the output buffer. */
static void keyboard_irq_handler(void) {
    keyboard_interrupts++;
    uint8_t status = inb(I8042_STATUS);
    if (!(status & I8042_STR_OBF)) {
        empty_interrupts++;
        return;
    }
    uint8_t byte = inb(I8042_DATA);
    if (status & I8042_STR_AUXDATA) {
        aux_bytes++;
        return;
    }
    if (received_count < BUFFER_SIZE) received[received_count] = byte;
    received_count++;
}

static void format_received(char *text, size_t size) {
    size_t used = 0;
    text[0] = '\0';
    for (unsigned i = 0; i < received_count && i < BUFFER_SIZE && used + 4 < size; i++) {
        snprintf(text + used, size - used, "%s%02x", i ? " " : "", received[i]);
        used = strlen(text);
    }
}

void suite_i8042_inject(void) {
    int original = i8042_read_ctr();
    if (!tap_check(original >= 0, "command byte readable", "no reply to command 0x20")) return;
    if (!isa_irq_enable(KEYBOARD_IRQ, keyboard_irq_handler)) {
        tap_skip("keys arrive with IRQ 1", "no IOAPIC pin for IRQ %d", KEYBOARD_IRQ);
        return;
    }
    i8042_command(I8042_CMD_AUX_DISABLE);
    i8042_flush();
    received_count = keyboard_interrupts = empty_interrupts = aux_bytes = 0;
    i8042_write_ctr(I8042_CTR_KBDINT | I8042_CTR_SYSFLAG | I8042_CTR_AUXDIS | I8042_CTR_XLATE);
    i8042_command(I8042_CMD_KBD_ENABLE);

    printf("# i8042-inject: ready\n");
    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, WAIT_SECONDS);
    while (received_count < EXPECTED_COUNT && !rtc_deadline_expired(&deadline)) {
    }
    /* Let a stray extra byte (a repeat, say) show up before judging. */
    io_delay(2000);

    isa_irq_disable(KEYBOARD_IRQ);
    i8042_write_ctr((uint8_t)original);

    char text[3 * BUFFER_SIZE + 1];
    format_received(text, sizeof text);
    tap_diag("received %u byte(s) [%s] with %u interrupt(s)", received_count, text, keyboard_interrupts);
    bool all_arrived = received_count >= EXPECTED_COUNT;
    tap_check(all_arrived, "six scancodes arrive within 20 s", "got %u: %s", received_count, text);
    bool in_order = received_count == EXPECTED_COUNT;
    for (unsigned i = 0; in_order && i < EXPECTED_COUNT; i++) in_order = received[i] == expected[i];
    tap_check(in_order, "scancodes are 1e 9e 30 b0 1c 9c (a, b, ret in set 1)", "got %s", text);
    tap_check(received_count > 0 && keyboard_interrupts == received_count && empty_interrupts == 0 && aux_bytes == 0,
              "each scancode came with its own IRQ 1", "%u interrupts, %u bytes, %u empty, %u aux",
              keyboard_interrupts, received_count, empty_interrupts, aux_bytes);
}
