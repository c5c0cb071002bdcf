/* ticker suite: not a device check but a visible sign that the guest runs,
 * for the host's pause/resume tests (issue 10): a busy loop that prints
 * "# ticker: N" after every TICK_SPINS iterations, N counting up from 1,
 * `ticks=<n>` times (default 100; 0: until the host stops the VM). While the
 * VM is paused the count must not advance; after a resume it goes on from
 * where it stopped (N+1: the guest was neither restarted nor skipped). */
#include "console.h"
#include "platform.h"
#include "suites.h"
#include "tap.h"

/* About 20-40 ms per line where guest code is emulated (~2-3 M
 * instructions/s), well under 1 ms on VT-x/AMD-V. */
#define TICK_SPINS 20000u
#define DEFAULT_TICKS 100u

static unsigned ticks_wanted(void) {
    char text[16];
    if (!cmdline_value("ticks", text, sizeof text) || text[0] < '0' || text[0] > '9') return DEFAULT_TICKS;
    unsigned value = 0;
    for (const char *c = text; *c >= '0' && *c <= '9'; c++) value = value * 10u + (unsigned)(*c - '0');
    return value;
}

void suite_ticker(void) {
    const unsigned wanted = ticks_wanted();
    tap_diag("counting to %u (0: until stopped)", wanted);
    unsigned count = 0;
    while (wanted == 0 || count < wanted) {
        for (volatile uint32_t spin = 0; spin < TICK_SPINS; spin++) {
        }
        count++;
        tap_diag("%u", count);
    }
    tap_check(count == wanted, "counted every tick", "stopped at %u of %u", count, wanted);
}
