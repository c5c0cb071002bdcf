/* A small printf: enough for TAP lines and diagnostics, nothing more. */
#include "console.h"

struct sink {
    char *buf;      /* NULL: write to the console */
    size_t size;
    size_t used;
};

static void sink_put(struct sink *sink, char c) {
    if (!sink->buf) {
        if (c == '\n') console_putc('\r');
        console_putc(c);
        return;
    }
    if (sink->used + 1 < sink->size) sink->buf[sink->used++] = c;
}

static void put_padded(struct sink *sink, const char *digits, int length, int width, char pad, bool left) {
    if (!left)
        for (int i = length; i < width; i++) sink_put(sink, pad);
    for (int i = 0; i < length; i++) sink_put(sink, digits[i]);
    if (left)
        for (int i = length; i < width; i++) sink_put(sink, ' ');
}

static void put_number(struct sink *sink, unsigned long long value, unsigned base, bool negative, bool upper,
                       int width, char pad, bool left) {
    char digits[24];
    int n = 0;
    const char *alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        digits[n++] = alphabet[value % base];
        value /= base;
    } while (value);
    if (negative) {
        if (pad == '0') {  /* sign before the zero padding: -0042 */
            sink_put(sink, '-');
            width--;
        } else {
            digits[n++] = '-';
        }
    }
    char reversed[24];
    for (int i = 0; i < n; i++) reversed[i] = digits[n - 1 - i];
    put_padded(sink, reversed, n, width, pad, left);
}

static void format(struct sink *sink, const char *fmt, va_list args) {
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(sink, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        bool left = false;
        for (;; fmt++) {
            if (*fmt == '0') pad = '0';
            else if (*fmt == '-') left = true;
            else break;
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        int longs = 0;
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = longs >= 2 ? va_arg(args, long long) : longs ? va_arg(args, long) : va_arg(args, int);
            unsigned long long magnitude = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            put_number(sink, magnitude, 10, v < 0, false, width, pad, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = longs >= 2 ? va_arg(args, unsigned long long)
                                 : longs      ? va_arg(args, unsigned long)
                                              : va_arg(args, unsigned int);
            put_number(sink, v, *fmt == 'u' ? 10 : 16, false, *fmt == 'X', width, pad, left);
            break;
        }
        case 'p':
            sink_put(sink, '0');
            sink_put(sink, 'x');
            put_number(sink, (uintptr_t)va_arg(args, void *), 16, false, false, 8, '0', false);
            break;
        case 'c': {
            char c = (char)va_arg(args, int);
            put_padded(sink, &c, 1, width, ' ', left);
            break;
        }
        case 's': {
            const char *s = va_arg(args, const char *);
            if (!s) s = "(null)";
            put_padded(sink, s, (int)strlen(s), width, ' ', left);
            break;
        }
        case '%':
            sink_put(sink, '%');
            break;
        case '\0':
            return;
        default:  /* unknown conversion: show it rather than guess */
            sink_put(sink, '%');
            sink_put(sink, *fmt);
            break;
        }
    }
}

void vprintf(const char *fmt, va_list args) {
    struct sink sink = {0};
    format(&sink, fmt, args);
}

void printf(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
}

void vsnprintf(char *buf, size_t size, const char *fmt, va_list args) {
    if (!size) return;
    struct sink sink = {.buf = buf, .size = size, .used = 0};
    format(&sink, fmt, args);
    buf[sink.used] = '\0';
}

void snprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf, size, fmt, args);
    va_end(args);
}
