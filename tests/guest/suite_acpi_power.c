/* acpi-power suite (issue 10): a host-initiated power-down as an ACPI-aware
 * OS sees it. Everything comes from the firmware's tables, as Linux finds
 * it, so the same binary works on keel and on QEMU's pc machine (both put
 * the PIIX4-style PM block at 0x600 and the SCI on IRQ 9 today, but nothing
 * here assumes so):
 *  - the FADT: SCI_INT, SMI_CMD/ACPI_ENABLE, PM1a_EVT_BLK (status, then
 *    enable at PM1_EVT_LEN/2), PM1a_CNT_BLK;
 *  - the DSDT's \_S5 package: SLP_TYP for soft-off.
 * It enters ACPI mode if SCI_EN is clear (ACPI_ENABLE written to SMI_CMD),
 * routes the SCI, sets PWRBTN_EN, prints "# acpi-power: ready" and waits
 * (`power-timeout=<s>` RTC seconds, default 120) for the host to press the
 * power button (QMP system_powerdown, keel's SIGPWR). The SCI handler clears
 * PWRBTN_STS (write 1), which drops the level-triggered line. Then it prints
 * "# acpi: power button" and powers off: PM1_CNT SLP_TYP = \_S5 | SLP_EN.
 * The VM ends there (exit 0, no TAP plan). If any step fails the suite
 * returns instead, so the probe ends with exit 1 and says why. */
#include "acpi_pm.h"
#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "rtc_clock.h"
#include "suites.h"
#include "tap.h"

/* PM1 register bits (ACPI 6.3 4.8.3). */
#define PM1_PWRBTN_STS 0x0100u
#define PM1_PWRBTN_EN 0x0100u

#define DEFAULT_WAIT_SECONDS 120
#define POWER_OFF_SECONDS 5

static uint16_t pm1_status_port, pm1_enable_port, pm1_control_port;
static volatile unsigned sci_count, button_presses;

static void sci_handler(void) {
    sci_count++;
    uint16_t status = inw(pm1_status_port);
    if (status & PM1_PWRBTN_STS) {
        button_presses++;
        /* Write-1-to-clear only this bit; the SCI line then drops. */
        outw(pm1_status_port, PM1_PWRBTN_STS);
    }
}

static unsigned wait_seconds(void) {
    char text[16];
    if (!cmdline_value("power-timeout", text, sizeof text) || text[0] < '1' || text[0] > '9')
        return DEFAULT_WAIT_SECONDS;
    unsigned value = 0;
    for (const char *c = text; *c >= '0' && *c <= '9' && value < 100000; c++)
        value = value * 10u + (unsigned)(*c - '0');
    return value;
}

void suite_acpi_power(void) {
    const uint8_t *fadt = acpi_find_table("FACP");
    uint32_t fadt_length = 0;
    if (fadt) memcpy(&fadt_length, fadt + 4, 4);
    if (!tap_check(fadt && fadt_length >= FADT_MIN_LENGTH, "FADT found", "%s",
                   fadt ? "shorter than its PM fields" : "no FACP table"))
        return;
    uint16_t sci;
    uint32_t smi_cmd, evt_block, cnt_block, dsdt_address;
    memcpy(&sci, fadt + FADT_SCI_INT, 2);
    memcpy(&smi_cmd, fadt + FADT_SMI_CMD, 4);
    memcpy(&evt_block, fadt + FADT_PM1A_EVT_BLK, 4);
    memcpy(&cnt_block, fadt + FADT_PM1A_CNT_BLK, 4);
    memcpy(&dsdt_address, fadt + FADT_DSDT, 4);
    const uint8_t evt_length = fadt[FADT_PM1_EVT_LEN];
    tap_diag("PM1a_EVT_BLK 0x%x (%u bytes), PM1a_CNT_BLK 0x%x, SCI IRQ %u, SMI_CMD 0x%x", (unsigned)evt_block,
             evt_length, (unsigned)cnt_block, sci, (unsigned)smi_cmd);
    if (!tap_check(evt_block != 0 && evt_block <= 0xFFFC && evt_length >= 4 && (evt_length & 1) == 0 &&
                       cnt_block != 0 && cnt_block <= 0xFFFE && sci < 16,
                   "FADT PM1a blocks and SCI usable", "evt 0x%x/%u cnt 0x%x sci %u", (unsigned)evt_block, evt_length,
                   (unsigned)cnt_block, sci))
        return;
    pm1_status_port = (uint16_t)evt_block;
    pm1_enable_port = (uint16_t)(evt_block + evt_length / 2);
    pm1_control_port = (uint16_t)cnt_block;

    const uint8_t *dsdt = acpi_table_at(dsdt_address);
    uint32_t dsdt_length = 0;
    if (dsdt) memcpy(&dsdt_length, dsdt + 4, 4);
    uint8_t s5_type = 0;
    if (!tap_check(dsdt && acpi_sleep_type(dsdt, dsdt_length, "_S5_", &s5_type), "DSDT declares \\_S5",
                   "%s", dsdt ? "no \\_S5 package" : "no valid DSDT"))
        return;
    tap_diag("\\_S5 SLP_TYP %u", s5_type);

    const enum acpi_mode mode = acpi_enter_mode(pm1_control_port, smi_cmd, fadt[FADT_ACPI_ENABLE]);
    if (mode == ACPI_MODE_ALREADY) tap_diag("SCI_EN already set");
    if (mode == ACPI_MODE_ENTERED) tap_diag("ACPI mode entered through SMI_CMD 0x%x", (unsigned)smi_cmd);
    if (!tap_check(mode != ACPI_MODE_FAILED, "ACPI mode (PM1_CNT SCI_EN set)",
                   "PM1_CNT 0x%x", inw(pm1_control_port)))
        return;

    outw(pm1_status_port, PM1_PWRBTN_STS);  /* a stale press is not the host's request */
    if (!tap_check(isa_irq_enable((uint8_t)sci, sci_handler), "SCI routed", "no IOAPIC pin for IRQ %u", sci))
        return;
    const uint16_t enable_before = inw(pm1_enable_port);
    outw(pm1_enable_port, (uint16_t)(enable_before | PM1_PWRBTN_EN));
    const bool enabled = (inw(pm1_enable_port) & PM1_PWRBTN_EN) != 0;
    if (!tap_check(enabled, "PWRBTN_EN sticks", "PM1_EN 0x%x", inw(pm1_enable_port))) {
        isa_irq_disable((uint8_t)sci);
        return;
    }

    const unsigned seconds = wait_seconds();
    printf("# acpi-power: ready\n");
    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, seconds);
    while (button_presses == 0 && !rtc_deadline_expired(&deadline)) io_delay(50);
    const bool pressed = button_presses > 0;
    const uint16_t status_after = inw(pm1_status_port);
    outw(pm1_enable_port, enable_before);
    isa_irq_disable((uint8_t)sci);
    if (!tap_check(pressed, "power button SCI", "none within %u RTC seconds (%u SCIs, PM1_STS 0x%x)", seconds,
                   sci_count, status_after))
        return;
    if (!tap_check(!(status_after & PM1_PWRBTN_STS), "PWRBTN_STS cleared by writing 1", "PM1_STS 0x%x", status_after))
        return;
    printf("# acpi: power button\n");

    /* Soft-off: the VM ends here. */
    printf("# acpi: powering off (S5, SLP_TYP %u)\n", s5_type);
    const uint16_t control = inw(pm1_control_port);
    outw(pm1_control_port,
         (uint16_t)((control & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN)) | ((unsigned)s5_type << PM1_SLP_TYP_SHIFT)));
    outw(pm1_control_port,
         (uint16_t)((control & ~PM1_SLP_TYP_MASK) | ((unsigned)s5_type << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
    rtc_deadline_start(&deadline, POWER_OFF_SECONDS);
    while (!rtc_deadline_expired(&deadline)) io_delay(50);
    tap_check(false, "powered off through PM1_CNT", "still running %u RTC seconds after SLP_EN", POWER_OFF_SECONDS);
}
