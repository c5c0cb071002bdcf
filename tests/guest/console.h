/* The serial console (COM1, polled) and a tiny printf on top of it. */
#pragma once

#include <stdarg.h>

#include "io.h"

#define COM1_BASE 0x3f8

/* Programs COM1 for 115200 8N1 with FIFOs on, interrupts off. Also used to
 * restore the console after the uart suite has played with it. */
void console_init(void);
void console_putc(char c);
void console_write(const char *s);

/* Supports %s %c %d %i %u %x %X %p %% with flags '0' '-', a width, and the
 * length modifiers l and ll. */
void printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
void vprintf(const char *format, va_list args);
/* Formats into buf (always NUL-terminated, truncated to size). */
void snprintf(char *buf, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));
void vsnprintf(char *buf, size_t size, const char *format, va_list args);
