/* TAP bookkeeping and the final exit through the debug-exit port. */
#include "tap.h"

#include "console.h"

static const char *current_suite = "probe";
static unsigned check_count;
static bool failed;

void tap_begin_suite(const char *suite) { current_suite = suite; }

bool tap_check(bool passed, const char *name, const char *why, ...) {
    check_count++;
    if (passed) {
        printf("ok %u - %s: %s\n", check_count, current_suite, name);
        return true;
    }
    failed = true;
    char reason[160];
    va_list args;
    va_start(args, why);
    vsnprintf(reason, sizeof reason, why, args);
    va_end(args);
    printf("not ok %u - %s: %s # %s\n", check_count, current_suite, name, reason);
    return false;
}

void tap_skip(const char *name, const char *reason, ...) {
    check_count++;
    char text[160];
    va_list args;
    va_start(args, reason);
    vsnprintf(text, sizeof text, reason, args);
    va_end(args);
    printf("ok %u - %s: %s # SKIP %s\n", check_count, current_suite, name, text);
}

void tap_diag(const char *format, ...) {
    char text[200];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    printf("# %s: %s\n", current_suite, text);
}

bool tap_any_failed(void) { return failed; }
unsigned tap_count(void) { return check_count; }
void tap_finish(void) { printf("1..%u\n", check_count); }

void probe_exit(int value) {
    cpu_disable_interrupts();
    printf("# probe: done, exit %d\n", value);
    outw(DEBUG_EXIT_PORT, (uint16_t)value);
    /* No debug-exit device: park the CPU. */
    for (;;) __asm__ volatile("cli; hlt");
}
