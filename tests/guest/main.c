/* probe_main: set up the machine, then run the suites named by "tests=" in
 * order, or the demo. */
#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "suites.h"
#include "tap.h"

struct suite {
    const char *name;
    void (*run)(void);
};

static const struct suite suites[] = {
    {"uart", suite_uart}, {"rtc", suite_rtc}, {"i8042", suite_i8042}, {"i8042-inject", suite_i8042_inject},
    {"pit", suite_pit},   {"smp", suite_smp}, {"pci", suite_pci},       {"virtio-blk", suite_virtio_blk},
    {"virtio-blk-bench", suite_virtio_blk_bench}, {"virtio-net", suite_virtio_net},
    {"virtio-net-bench", suite_virtio_net_bench},
    {"e1000", suite_e1000}, {"ticker", suite_ticker}, {"acpi-power", suite_acpi_power},
    {"acpi-s3", suite_acpi_s3},
};

static const struct suite *find_suite(const char *name, size_t length) {
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (strlen(suites[i].name) == length && !strncmp(suites[i].name, name, length)) return &suites[i];
    return NULL;
}

/* Calls visit(name, length) for each comma-separated name; stops (and
 * returns false) when visit does. */
static bool for_each_name(const char *list, bool (*visit)(const char *, size_t)) {
    while (*list) {
        size_t length = 0;
        while (list[length] && list[length] != ',') length++;
        if (length && !visit(list, length)) return false;
        list += length;
        if (*list == ',') list++;
    }
    return true;
}

static bool check_known(const char *name, size_t length) {
    if (find_suite(name, length)) return true;
    char copy[64];
    size_t n = length < sizeof copy - 1 ? length : sizeof copy - 1;
    memcpy(copy, name, n);
    copy[n] = '\0';
    printf("not ok - unknown suite '%s'\n", copy);
    return false;
}

static bool run_suite(const char *name, size_t length) {
    const struct suite *suite = find_suite(name, length);
    tap_begin_suite(suite->name);
    suite->run();
    return true;
}

void probe_main(uint32_t magic, uint32_t info_address);
void probe_main(uint32_t magic, uint32_t info_address) {
    console_init();
    /* Start on a fresh line: firmware may have left its own output
     * unterminated (SeaBIOS's "Booting from ROM.."). */
    console_write("\n");
    multiboot_parse(magic, info_address);
    acpi_parse();
    interrupts_init();
    cpu_enable_interrupts();  /* everything is masked until a suite routes an IRQ */

    char tests[256];
    if (cmdline_has_word("demo") || !cmdline_value("tests", tests, sizeof tests)) {
        demo_run();
        probe_exit(PROBE_EXIT_SUCCESS);
    }

    printf("TAP version 13\n");
    printf("# probe: cmdline '%s'\n", platform.cmdline);
    printf("# probe: %u CPU(s), IOAPIC %s, ACPI %s\n", platform.cpu_count, platform.have_ioapic ? "found" : "missing",
           platform.have_acpi ? platform.acpi_oem_id : "missing");
    /* Check every name first: a typo must not half-run a list. */
    if (!for_each_name(tests, check_known)) probe_exit(PROBE_EXIT_UNKNOWN_SUITE);
    for_each_name(tests, run_suite);
    tap_finish();
    probe_exit(tap_any_failed() ? PROBE_EXIT_FAILURE : PROBE_EXIT_SUCCESS);
}
