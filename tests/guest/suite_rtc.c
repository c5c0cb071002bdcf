/* rtc suite: the MC146818A CMOS RTC: time of day against the host's clock,
 * the periodic interrupt rate, and the status registers C and D. */
#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "rtc_clock.h"
#include "suites.h"
#include "tap.h"

#define RTC_IRQ 8
/* RS = 0x0A: 32768 Hz >> (RS - 1) = 64 Hz, slow enough for an emulated
 * guest to take every interrupt. */
#define PERIODIC_RATE_SELECT 0x0A
#define PERIODIC_HZ 64
#define MEASURE_SECONDS 2
#define BOOT_ALLOWANCE 30

static bool parse_u64(const char *s, uint64_t *out) {
    uint64_t value = 0;
    if (!*s) return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        value = value * 10 + (uint64_t)(*s - '0');
    }
    *out = value;
    return true;
}

static void check_time_of_day(void) {
    struct rtc_time t;
    bool ok = rtc_read_time(&t);
    tap_check(ok && t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31 && t.hour < 24 && t.minute < 60 &&
                  t.second < 60,
              "date and time read and in range", "%04u-%02u-%02u %02u:%02u:%02u (stable %d)", t.year, t.month, t.day,
              t.hour, t.minute, t.second, ok);
    if (!ok) return;
    tap_diag("RTC reads %04u-%02u-%02u %02u:%02u:%02u (register B %02x)", t.year, t.month, t.day, t.hour, t.minute,
             t.second, cmos_read(RTC_REG_B));

    char now_text[24];
    uint64_t host_now;
    if (!cmdline_value("now", now_text, sizeof now_text) || !parse_u64(now_text, &host_now)) {
        tap_skip("time matches the host's (now=) allowing for boot time", "no now=<unix seconds> on the command line");
        return;
    }
    /* `now` is the host's clock when it started the VM; firmware and boot
     * ran since (SeaBIOS alone takes seconds on an emulated host), so allow
     * 2 s early and BOOT_ALLOWANCE late. The runner compares the unix time
     * printed below with its own clock when the line arrives, to 2 s. */
    uint64_t rtc_unix = rtc_time_to_unix(&t);
    printf("# rtc: unix time %llu\n", (unsigned long long)rtc_unix);
    int64_t diff = (int64_t)rtc_unix - (int64_t)host_now;
    tap_check(diff >= -2 && diff <= BOOT_ALLOWANCE, "time matches the host's (now=) allowing for boot time",
              "RTC - host = %lld s", (long long)diff);
}

static void check_register_d(void) {
    uint8_t d = cmos_read(RTC_REG_D);
    tap_check(d & RTC_D_VRT, "register D reports valid RAM and time (VRT)", "register D %02x", d);
}

static volatile unsigned periodic_interrupts, interrupts_without_pf;

/* Reading register C acknowledges the interrupt; without the read the RTC
 * keeps IRQF set and raises no further interrupt. */
static void rtc_irq_handler(void) {
    uint8_t c = cmos_read(RTC_REG_C);
    if ((c & (RTC_C_IRQF | RTC_C_PF)) == (RTC_C_IRQF | RTC_C_PF))
        periodic_interrupts++;
    else
        interrupts_without_pf++;
}

static void check_periodic_interrupt(void) {
    if (!isa_irq_enable(RTC_IRQ, rtc_irq_handler)) {
        tap_skip("periodic interrupt rate", "no IOAPIC pin for IRQ %d", RTC_IRQ);
        return;
    }
    uint8_t reg_a = cmos_read(RTC_REG_A), reg_b = cmos_read(RTC_REG_B);
    cmos_write(RTC_REG_A, RTC_A_DV_32KHZ | PERIODIC_RATE_SELECT);
    (void)cmos_read(RTC_REG_C);
    cmos_write(RTC_REG_B, (reg_b | RTC_B_PIE) & ~(RTC_B_AIE | RTC_B_UIE));

    /* Only sleep in HLT once the interrupt has proven alive. */
    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, 2);
    while (!periodic_interrupts && !rtc_deadline_expired(&deadline)) {
    }
    bool alive = periodic_interrupts > 0;
    bool ticking = alive && rtc_wait_second_boundary_halting();
    unsigned start = periodic_interrupts;
    for (int s = 0; s < MEASURE_SECONDS && ticking; s++) ticking = rtc_wait_second_boundary_halting();
    unsigned counted = periodic_interrupts - start;

    cmos_write(RTC_REG_B, reg_b & ~RTC_B_PIE);
    cmos_write(RTC_REG_A, reg_a);
    isa_irq_disable(RTC_IRQ);
    (void)cmos_read(RTC_REG_C);

    unsigned expected = PERIODIC_HZ * MEASURE_SECONDS;
    tap_check(alive, "periodic interrupt arrives on IRQ 8", "none within 2 s");
    tap_diag("%u periodic interrupts in %d s (expected %u)", counted, MEASURE_SECONDS, expected);
    tap_check(ticking && counted * 10 >= expected * 8 && counted * 10 <= expected * 12,
              "periodic interrupt at 64 Hz (+-20%)", "%u interrupts in %d s, RTC ticking %d", counted,
              MEASURE_SECONDS, ticking);
    tap_check(interrupts_without_pf == 0, "each interrupt shows IRQF and PF in register C",
              "%u interrupts without PF", interrupts_without_pf);
}

/* The update-ended flag UF is set after every update cycle whether or not
 * UIE is on; reading C returns it and clears all flags. */
static void check_register_c_clears(void) {
    (void)cmos_read(RTC_REG_C);
    bool ticking = rtc_wait_second_boundary();
    /* UF is set when the update cycle ends, at most 2 ms after the seconds
     * change; a few reads give the emulator that long. */
    io_delay(2000);
    uint8_t first = cmos_read(RTC_REG_C);
    uint8_t second = cmos_read(RTC_REG_C);
    tap_check(ticking && (first & RTC_C_UF), "register C reports UF after an update cycle", "C %02x", first);
    /* PF is set at the periodic rate whether or not PIE is on (datasheet,
     * "Register C"): with register A's rate bits non-zero it may be set
     * again between the two reads on a loaded host, so it is not compared. */
    tap_check((second & (uint8_t)~RTC_C_PF) == 0, "reading register C clears it", "C %02x then %02x", first, second);
}

void suite_rtc(void) {
    check_time_of_day();
    check_register_d();
    check_periodic_interrupt();
    check_register_c_clears();
}
