/* acpi-s3 suite (issue 10): suspend to RAM and resume, the way an OS does
 * it, from the firmware's tables only (same binary on keel and QEMU's pc):
 *  - FADT: PM1a_EVT_BLK, PM1a_CNT_BLK, SMI_CMD/ACPI_ENABLE and the FACS
 *    (X_FIRMWARE_CTRL when set, else FIRMWARE_CTRL);
 *  - DSDT: the \_S3 package's SLP_TYP (no \_S3: SKIP, no suspend offered);
 *  - FACS: the real-mode firmware waking vector gets S3_WAKE_STUB_ADDRESS
 *    and the 64-bit X vector 0, so the firmware resumes in real mode.
 * It clears WAK_STS, prints "# acpi-s3: suspending", writes SLP_TYP | SLP_EN
 * (s3_wake.S keeps the state needed to come back) and waits. The host wakes
 * the machine (QMP system_wakeup); the stub brings the probe back to 32-bit
 * protected mode and s3_suspend returns a second time. Then the console and
 * interrupt controllers, which the machine reset, are set up again, and it
 * prints "# resumed from S3" and checks: WAK_STS set (and cleared by writing
 * 1), RAM kept (a pattern written before sleeping). Still running 10 RTC
 * seconds after SLP_EN, or back without WAK_STS, is a failure.
 * With `s3-wake=rtc` it also arms an RTC alarm 5 s ahead (AIE) and PM1_EN
 * RTC_EN before sleeping, so the alarm wakes the machine, and then expects
 * RTC_STS with WAK_STS. */
#include "acpi_pm.h"
#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "rtc_clock.h"
#include "s3_wake.h"
#include "suites.h"
#include "tap.h"

/* FACS fields (5.2.10, table 5-37). */
#define FACS_LENGTH 4
#define FACS_WAKING_VECTOR 12
#define FACS_FLAGS 20
#define FACS_X_WAKING_VECTOR 24
#define FACS_VERSION 32
#define FACS_MIN_LENGTH 64

/* PM1 bits (4.8.3). */
#define PM1_WAK_STS 0x8000u
#define PM1_ALL_STS 0x8731u  /* what ACPICA clears before sleeping */
#define PM1_RTC_STS 0x0400u
#define PM1_RTC_EN 0x0400u

#define SLEEP_WAIT_SECONDS 10
#define ALARM_SECONDS 5
#define RTC_ALARM_SECONDS 0x01
#define RTC_ALARM_MINUTES 0x03
#define RTC_ALARM_HOURS 0x05
#define RTC_ALARM_ANY 0xFF  /* "don't care": matches every value */
#define CANARY_WORDS 1024

static uint32_t canary[CANARY_WORDS];

static uint32_t canary_value(uint32_t i) { return 0x53330000u ^ (i * 2654435761u); }

/* The FACS the FADT names: X_FIRMWARE_CTRL when the FADT is long enough
 * and it is set (and reachable without paging), else FIRMWARE_CTRL. */
static uint8_t *find_facs(const uint8_t *fadt, uint32_t fadt_length) {
    uint64_t address = 0;
    if (fadt_length >= FADT_X_FIRMWARE_CTRL_END) memcpy(&address, fadt + FADT_X_FIRMWARE_CTRL, 8);
    if (address == 0) {
        uint32_t low = 0;
        memcpy(&low, fadt + FADT_FIRMWARE_CTRL, 4);
        address = low;
    }
    if (address == 0 || address >= 0xFFFFF000ull) return NULL;
    return phys_to_ptr((uintptr_t)address);
}

static bool rtc_wake_requested(void) {
    char text[8];
    return cmdline_value("s3-wake", text, sizeof text) && !memcmp(text, "rtc", 4);
}

static uint8_t to_rtc_format(unsigned value, uint8_t reg_b) {
    return (uint8_t)((reg_b & RTC_B_BINARY) ? value : ((value / 10) << 4) | (value % 10));
}

/* An RTC alarm ALARM_SECONDS from now (seconds only; minutes and hours
 * "don't care", so no carry) with AIE set, and RTC_EN, without which the
 * alarm may not wake the machine (ACPI 6.3 4.8.3.1.1, RTC_STS). IRQ 8
 * stays masked: only the wake matters. */
static bool arm_rtc_alarm(uint16_t enable_port) {
    struct rtc_time now;
    if (!rtc_read_time(&now)) return false;
    const uint8_t reg_b = cmos_read(RTC_REG_B);
    cmos_write(RTC_ALARM_SECONDS, to_rtc_format((now.second + ALARM_SECONDS) % 60, reg_b));
    cmos_write(RTC_ALARM_MINUTES, RTC_ALARM_ANY);
    cmos_write(RTC_ALARM_HOURS, RTC_ALARM_ANY);
    (void)cmos_read(RTC_REG_C);  /* a stale AF must not count */
    cmos_write(RTC_REG_B, (uint8_t)(reg_b | RTC_B_AIE));
    outw(enable_port, (uint16_t)(inw(enable_port) | PM1_RTC_EN));
    tap_diag("RTC alarm at second %u, PM1_EN 0x%x", (now.second + ALARM_SECONDS) % 60, inw(enable_port));
    return (inw(enable_port) & PM1_RTC_EN) != 0;
}

static void disarm_rtc_alarm(uint16_t enable_port) {
    cmos_write(RTC_REG_B, (uint8_t)(cmos_read(RTC_REG_B) & ~RTC_B_AIE));
    (void)cmos_read(RTC_REG_C);
    outw(enable_port, (uint16_t)(inw(enable_port) & ~PM1_RTC_EN));
}

void suite_acpi_s3(void) {
    const uint8_t *fadt = acpi_find_table("FACP");
    uint32_t fadt_length = 0;
    if (fadt) memcpy(&fadt_length, fadt + 4, 4);
    if (!tap_check(fadt && fadt_length >= FADT_MIN_LENGTH, "FADT found", "%s",
                   fadt ? "shorter than its PM fields" : "no FACP table"))
        return;
    uint32_t smi_cmd, evt_block, cnt_block, dsdt_address;
    memcpy(&smi_cmd, fadt + FADT_SMI_CMD, 4);
    memcpy(&evt_block, fadt + FADT_PM1A_EVT_BLK, 4);
    memcpy(&cnt_block, fadt + FADT_PM1A_CNT_BLK, 4);
    memcpy(&dsdt_address, fadt + FADT_DSDT, 4);
    const uint8_t evt_length = fadt[FADT_PM1_EVT_LEN];
    if (!tap_check(evt_block != 0 && evt_block <= 0xFFFC && evt_length >= 4 && cnt_block != 0 && cnt_block <= 0xFFFE,
                   "FADT PM1a blocks usable", "evt 0x%x/%u cnt 0x%x", (unsigned)evt_block, evt_length,
                   (unsigned)cnt_block))
        return;
    const uint16_t status_port = (uint16_t)evt_block;
    const uint16_t enable_port = (uint16_t)(evt_block + evt_length / 2);
    const uint16_t control_port = (uint16_t)cnt_block;
    const bool rtc_wake = rtc_wake_requested();

    const uint8_t *dsdt = acpi_table_at(dsdt_address);
    uint32_t dsdt_length = 0;
    if (dsdt) memcpy(&dsdt_length, dsdt + 4, 4);
    uint8_t s3_type = 0;
    if (!dsdt || !acpi_sleep_type(dsdt, dsdt_length, "_S3_", &s3_type)) {
        tap_skip("DSDT declares \\_S3", "%s", dsdt ? "no \\_S3: the machine offers no suspend to RAM" : "no DSDT");
        return;
    }
    tap_check(true, "DSDT declares \\_S3", "%s", "");
    tap_diag("\\_S3 SLP_TYP %u", s3_type);

    uint8_t *facs = find_facs(fadt, fadt_length);
    uint32_t facs_length = 0;
    if (facs) memcpy(&facs_length, facs + FACS_LENGTH, 4);
    if (!tap_check(facs && !memcmp(facs, "FACS", 4) && facs_length >= FACS_MIN_LENGTH &&
                       ((uintptr_t)facs & 63) == 0,
                   "FACS found through the FADT", "%s", facs ? "bad signature, length or alignment" : "no address"))
        return;
    uint32_t facs_flags;
    memcpy(&facs_flags, facs + FACS_FLAGS, 4);
    tap_diag("FACS at 0x%x, version %u, flags 0x%x", (unsigned)(uintptr_t)facs, facs[FACS_VERSION],
             (unsigned)facs_flags);

    if (!tap_check(acpi_enter_mode(control_port, smi_cmd, fadt[FADT_ACPI_ENABLE]) != ACPI_MODE_FAILED,
                   "ACPI mode (SCI_EN set)",
                   "PM1_CNT 0x%x", inw(control_port)))
        return;

    /* The waking vector: real mode at the stub; no 64-bit/protected-mode
     * X vector, so the firmware must use this one. */
    const uint32_t vector = S3_WAKE_STUB_ADDRESS;
    memcpy(facs + FACS_WAKING_VECTOR, &vector, 4);
    const uint64_t no_x_vector = 0;
    memcpy(facs + FACS_X_WAKING_VECTOR, &no_x_vector, 8);
    uint32_t vector_back;
    memcpy(&vector_back, facs + FACS_WAKING_VECTOR, 4);
    if (!tap_check(vector_back == vector, "FACS waking vector written", "reads 0x%x, wrote 0x%x",
                   (unsigned)vector_back, (unsigned)vector))
        return;

    for (uint32_t i = 0; i < CANARY_WORDS; i++) canary[i] = canary_value(i);
    outw(status_port, PM1_ALL_STS);
    if (!tap_check(!(inw(status_port) & PM1_WAK_STS), "WAK_STS clear before sleeping", "PM1_STS 0x%x",
                   inw(status_port)))
        return;

    if (rtc_wake && !tap_check(arm_rtc_alarm(enable_port), "RTC alarm and RTC_EN armed", "PM1_EN 0x%x",
                               inw(enable_port)))
        return;

    const uint16_t control = (uint16_t)((inw(control_port) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN)) |
                                        ((unsigned)s3_type << PM1_SLP_TYP_SHIFT));
    printf("# acpi-s3: suspending (S3, SLP_TYP %u, waking vector 0x%x)\n", s3_type, (unsigned)vector);
    cpu_disable_interrupts();
    outw(control_port, control);  /* SLP_TYP first, then SLP_EN, as ACPICA does */
    if (s3_suspend(control_port, (uint16_t)(control | PM1_SLP_EN)) == 0) {
        /* The machine should stop the vCPUs about now; this wait ends in
         * the reset that comes with the wake, unless it never slept. */
        struct rtc_deadline deadline;
        rtc_deadline_start(&deadline, SLEEP_WAIT_SECONDS);
        while (!rtc_deadline_expired(&deadline)) io_delay(50);
        cpu_enable_interrupts();
        memset(facs + FACS_WAKING_VECTOR, 0, 4);
        if (rtc_wake) disarm_rtc_alarm(enable_port);
        tap_check(false, "suspended (S3)", "still running %u RTC seconds after SLP_EN (PM1_STS 0x%x)",
                  SLEEP_WAIT_SECONDS, inw(status_port));
        return;
    }

    /* Back through the waking vector. The machine reset its devices on the
     * way (QEMU's pc does): set up the console and interrupts again. QEMU
     * also copies a -kernel image's loaded sections back into RAM on every
     * reset, the S3 wake's included, so initialised data (.data) is back at
     * its start values while .bss is kept: all S3 state lives in .bss, and
     * the TAP suite name (a .data pointer) is set again. */
    tap_begin_suite("acpi-s3");
    console_init();
    interrupts_init();
    cpu_enable_interrupts();
    printf("# resumed from S3\n");
    memset(facs + FACS_WAKING_VECTOR, 0, 4);  /* a later wake must not reuse a stale stub */
    tap_check(true, "suspended (S3) and resumed through the FACS waking vector", "%s", "");

    const uint16_t status = inw(status_port);
    tap_diag("PM1_STS 0x%x, PM1_CNT 0x%x after resume", status, inw(control_port));
    tap_check(status & PM1_WAK_STS, "PM1 WAK_STS set on resume", "PM1_STS 0x%x", status);
    outw(status_port, PM1_WAK_STS);
    tap_check(!(inw(status_port) & PM1_WAK_STS), "WAK_STS cleared by writing 1", "PM1_STS 0x%x", inw(status_port));
    if (rtc_wake) {
        tap_check(status & PM1_RTC_STS, "PM1 RTC_STS set (woken by the RTC alarm)", "PM1_STS 0x%x", status);
        disarm_rtc_alarm(enable_port);
    }
    outw(status_port, status);  /* the wake source's status bits too (PWRBTN_STS, RTC_STS) */

    uint32_t wrong = 0;
    for (uint32_t i = 0; i < CANARY_WORDS; i++) wrong += canary[i] != canary_value(i);
    tap_check(wrong == 0, "RAM kept across S3", "%u of %u words changed", (unsigned)wrong, CANARY_WORDS);
}
