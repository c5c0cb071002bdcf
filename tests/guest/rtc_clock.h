/* The CMOS RTC (Motorola MC146818A) as the probe's clock: reading the date,
 * and measuring seconds for timeouts and rate checks. Guest-side loops are
 * emulated and their speed varies 1000x between hosts, so every wait that
 * matters is measured in RTC seconds. */
#pragma once

#include "io.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0A
#define RTC_REG_B 0x0B
#define RTC_REG_C 0x0C
#define RTC_REG_D 0x0D
#define RTC_CENTURY 0x32  /* as named by the FADT CENTURY field on PCs */

#define RTC_A_UIP 0x80
#define RTC_A_DV_32KHZ 0x20
#define RTC_B_SET 0x80
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_UF 0x10
#define RTC_D_VRT 0x80

uint8_t cmos_read(uint8_t reg);
void cmos_write(uint8_t reg, uint8_t value);

struct rtc_time {
    unsigned year, month, day, hour, minute, second;
};

/* Waits for UIP to clear and reads until two reads agree; converts BCD and
 * 12-hour formats per register B. False if the RTC never settled. */
bool rtc_read_time(struct rtc_time *out);
uint64_t rtc_time_to_unix(const struct rtc_time *t);

/* Blocks until the seconds register changes. False after a poll budget
 * (about a few seconds on slow hosts) with no change. */
bool rtc_wait_second_boundary(void);

/* Same, sleeping in HLT between checks instead of polling the CMOS ports:
 * for use while a periodic interrupt runs (it wakes us). Constant port
 * polling can starve an emulator's timer thread (QEMU's RTC ticks are
 * delivered late or coalesced under the lock the port exits take). The
 * caller must know the interrupt source is alive, or HLT never returns. */
bool rtc_wait_second_boundary_halting(void);

/* A timeout counted in RTC second boundaries. Polls with pauses in between
 * so that waiting does not flood the host with port exits. */
struct rtc_deadline {
    uint8_t last_seconds;
    unsigned boundaries_seen;
    unsigned boundaries_needed;
    uint32_t polls_left;  /* safety net if the RTC does not tick */
};
void rtc_deadline_start(struct rtc_deadline *d, unsigned seconds);
bool rtc_deadline_expired(struct rtc_deadline *d);

/* A short pause made of CMOS register reads (each one a VM exit on a
 * virtual machine, about 1-10 us). */
void io_delay(unsigned reads);
