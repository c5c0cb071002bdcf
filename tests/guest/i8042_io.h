/* Polled access to the i8042 keyboard controller (IBM PC/AT technical
 * reference; the bit names follow Linux's i8042.h). Every wait is bounded. */
#pragma once

#include "io.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64   /* read */
#define I8042_COMMAND 0x64  /* write */

#define I8042_STR_OBF 0x01     /* output buffer full: a byte for us */
#define I8042_STR_IBF 0x02     /* input buffer full: controller busy */
#define I8042_STR_AUXDATA 0x20 /* the byte in the output buffer came from the mouse */

#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_AUX_DISABLE 0xA7
#define I8042_CMD_AUX_ENABLE 0xA8
#define I8042_CMD_AUX_TEST 0xA9
#define I8042_CMD_SELF_TEST 0xAA
#define I8042_CMD_KBD_TEST 0xAB
#define I8042_CMD_KBD_DISABLE 0xAD
#define I8042_CMD_KBD_ENABLE 0xAE
#define I8042_CMD_AUX_SEND 0xD4

#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYSFLAG 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

/* Sends a controller command (port 0x64) / a data byte (port 0x60). */
bool i8042_command(uint8_t command);
bool i8042_write_data(uint8_t value);
/* Reads one byte from the output buffer; -1 on timeout. *status gets the
 * status register seen with the byte (for the AUXDATA bit). */
int i8042_read(uint8_t *status);
/* Discards whatever is in the output buffer. */
void i8042_flush(void);
/* Command byte (controller configuration) access; -1 on timeout. */
int i8042_read_ctr(void);
bool i8042_write_ctr(uint8_t value);
