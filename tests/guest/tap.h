/* TAP output (Test Anything Protocol, version 13): one "ok"/"not ok" line
 * per check, numbered from 1, diagnostics as "# " lines, the plan "1..N"
 * printed at the end. */
#pragma once

#include "io.h"

/* Values written to the debug-exit port (keel: the process exit status;
 * QEMU isa-debug-exit: exits with (value << 1) | 1). */
#define PROBE_EXIT_SUCCESS 0
#define PROBE_EXIT_FAILURE 1
#define PROBE_EXIT_UNKNOWN_SUITE 2
#define DEBUG_EXIT_PORT 0x501

/* Names the suite that following checks belong to ("uart: ..."). */
void tap_begin_suite(const char *suite);
/* Records one check; `why` (printf format) explains a failure. Returns passed. */
bool tap_check(bool passed, const char *name, const char *why, ...) __attribute__((format(printf, 3, 4)));
void tap_skip(const char *name, const char *reason, ...) __attribute__((format(printf, 2, 3)));
/* "# <suite>: ..." */
void tap_diag(const char *format, ...) __attribute__((format(printf, 1, 2)));
bool tap_any_failed(void);
unsigned tap_count(void);
/* Prints the plan line. */
void tap_finish(void);

/* Prints "# probe: done, exit <v>" and writes v to the debug-exit port. */
void probe_exit(int value) __attribute__((noreturn));
