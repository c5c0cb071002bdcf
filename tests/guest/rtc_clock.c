/* RTC access and RTC-second timing (MC146818A datasheet). */
#include "rtc_clock.h"

/* The index/data pair is not atomic: the RTC interrupt handler selects
 * register C in between, and the interrupted read would then return C
 * (clearing it) instead of the register asked for. */
uint8_t cmos_read(uint8_t reg) {
    uint32_t flags = irq_save();
    outb(CMOS_INDEX, reg);
    uint8_t value = inb(CMOS_DATA);
    irq_restore(flags);
    return value;
}

void cmos_write(uint8_t reg, uint8_t value) {
    uint32_t flags = irq_save();
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, value);
    irq_restore(flags);
}

static unsigned from_bcd(uint8_t value) { return (value >> 4) * 10u + (value & 0x0F); }

static void read_raw(uint8_t regs[7]) {
    static const uint8_t indices[7] = {RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_MONTH,
                                       RTC_MONTH,   RTC_YEAR,    RTC_CENTURY};
    for (int i = 0; i < 7; i++) regs[i] = cmos_read(indices[i]);
}

bool rtc_read_time(struct rtc_time *out) {
    uint8_t first[7], second[7];
    bool stable = false;
    for (int attempt = 0; attempt < 10 && !stable; attempt++) {
        /* UIP set: the registers may change within 244 us; wait it out. */
        for (int i = 0; i < 100000 && (cmos_read(RTC_REG_A) & RTC_A_UIP); i++) {
        }
        read_raw(first);
        read_raw(second);
        stable = !memcmp(first, second, sizeof first);
    }
    if (!stable) return false;

    uint8_t reg_b = cmos_read(RTC_REG_B);
    bool binary = reg_b & RTC_B_BINARY;
    uint8_t hour = first[2];
    bool pm = !(reg_b & RTC_B_24H) && (hour & 0x80);
    hour &= 0x7F;
    out->second = binary ? first[0] : from_bcd(first[0]);
    out->minute = binary ? first[1] : from_bcd(first[1]);
    out->hour = binary ? hour : from_bcd(hour);
    out->day = binary ? first[3] : from_bcd(first[3]);
    out->month = binary ? first[4] : from_bcd(first[4]);
    unsigned year = binary ? first[5] : from_bcd(first[5]);
    unsigned century = binary ? first[6] : from_bcd(first[6]);
    if (!(reg_b & RTC_B_24H)) {
        /* 12-hour mode: 12 AM is 0h, 12 PM is 12h. */
        if (out->hour == 12) out->hour = 0;
        if (pm) out->hour += 12;
    }
    /* The century register is not standardised; trust it only if sane. */
    if (century < 19 || century > 21) century = year < 70 ? 20 : 19;
    out->year = century * 100 + year;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), valid for the years an RTC can show. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

uint64_t rtc_time_to_unix(const struct rtc_time *t) {
    int64_t days = days_from_civil(t->year, t->month, t->day);
    return (uint64_t)(days * 86400 + t->hour * 3600 + t->minute * 60 + t->second);
}

bool rtc_wait_second_boundary(void) {
    uint8_t start = cmos_read(RTC_SECONDS);
    for (uint32_t i = 0; i < 3000000; i++)
        if (cmos_read(RTC_SECONDS) != start) return true;
    return false;
}

bool rtc_wait_second_boundary_halting(void) {
    uint8_t start = cmos_read(RTC_SECONDS);
    for (uint32_t i = 0; i < 100000; i++) {
        __asm__ volatile("sti; hlt" ::: "memory");
        if (cmos_read(RTC_SECONDS) != start) return true;
    }
    return false;
}

void rtc_deadline_start(struct rtc_deadline *d, unsigned seconds) {
    d->last_seconds = cmos_read(RTC_SECONDS);
    d->boundaries_seen = 0;
    /* The current second is partly gone: one extra boundary guarantees at
     * least `seconds` full seconds. */
    d->boundaries_needed = seconds + 1;
    d->polls_left = 200000u * (seconds + 1);
}

bool rtc_deadline_expired(struct rtc_deadline *d) {
    uint8_t now = cmos_read(RTC_SECONDS);
    if (now != d->last_seconds) {
        d->last_seconds = now;
        d->boundaries_seen++;
    }
    if (d->polls_left) d->polls_left--;
    for (int i = 0; i < 1000; i++) cpu_relax();
    return d->boundaries_seen >= d->boundaries_needed || !d->polls_left;
}

void io_delay(unsigned reads) {
    for (unsigned i = 0; i < reads; i++) (void)cmos_read(RTC_REG_A);
}
