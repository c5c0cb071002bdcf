/* Polled i8042 access shared by the i8042 and i8042-inject suites and the
 * demo. A poll is a port read, i.e. one VM exit: 200000 of them is about a
 * second on an emulated host and a fraction of it on a fast one, longer
 * than any reply of an emulated keyboard takes. */
#include "i8042_io.h"

#define POLLS 200000

static bool wait_input_empty(void) {
    for (int i = 0; i < POLLS; i++)
        if (!(inb(I8042_STATUS) & I8042_STR_IBF)) return true;
    return false;
}

bool i8042_command(uint8_t command) {
    if (!wait_input_empty()) return false;
    outb(I8042_COMMAND, command);
    return true;
}

bool i8042_write_data(uint8_t value) {
    if (!wait_input_empty()) return false;
    outb(I8042_DATA, value);
    return true;
}

int i8042_read(uint8_t *status) {
    for (int i = 0; i < POLLS; i++) {
        uint8_t s = inb(I8042_STATUS);
        if (s & I8042_STR_OBF) {
            if (status) *status = s;
            return inb(I8042_DATA);
        }
    }
    return -1;
}

void i8042_flush(void) {
    for (int i = 0; i < 64 && (inb(I8042_STATUS) & I8042_STR_OBF); i++) (void)inb(I8042_DATA);
}

int i8042_read_ctr(void) {
    if (!i8042_command(I8042_CMD_READ_CTR)) return -1;
    return i8042_read(0);
}

bool i8042_write_ctr(uint8_t value) {
    return i8042_command(I8042_CMD_WRITE_CTR) && i8042_write_data(value);
}
