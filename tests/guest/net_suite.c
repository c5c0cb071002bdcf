/* The device-independent half of the NIC suites; see net_suite.h. */
#include "net_suite.h"

#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "rtc_clock.h"
#include "tap.h"

#define DEFAULT_TIMEOUT_SECONDS 120
#define GATEWAY_WAIT_TICKS 4     /* 2 s per ARP request */
#define RTC_IRQ 8
#define TICK_RATE_SELECT 0x0F    /* 2 Hz (MC146818A rate table) */

/* ---- command line ------------------------------------------------------ */

/* A decimal "key=N" from the command line, or `fallback`. */
static unsigned cmdline_number(const char *key, unsigned fallback) {
    char text[12];
    if (!cmdline_value(key, text, sizeof text) || text[0] < '0' || text[0] > '9') return fallback;
    unsigned value = 0;
    for (const char *p = text; *p >= '0' && *p <= '9' && value < 100000; p++) value = value * 10 + (unsigned)(*p - '0');
    return value;
}

bool net_read_options(struct net_identity *self, struct net_options *options) {
    char ip_text[24] = "10.0.2.15";
    cmdline_value("net-ip", ip_text, sizeof ip_text);
    if (!tap_check(net_parse_ip(ip_text, self->ip), "net-ip is a dotted quad", "'%s'", ip_text)) return false;
    options->timeout_seconds = cmdline_number("net-timeout", DEFAULT_TIMEOUT_SECONDS);
    if (options->timeout_seconds == 0) options->timeout_seconds = DEFAULT_TIMEOUT_SECONDS;
    options->bad_expected = cmdline_number("net-bad", 0);
    options->expect_ping = cmdline_number("net-ping", 1) != 0;
    options->mac_given = cmdline_value("net-mac", options->mac_text, sizeof options->mac_text);
    if (!options->mac_given) memcpy(options->mac_text, "any", sizeof "any");
    options->gateway_text[0] = '\0';
    options->gateway_given = cmdline_value("net-gw", options->gateway_text, sizeof options->gateway_text);
    memset(self->gateway, 0, sizeof self->gateway);
    return !options->gateway_given || tap_check(net_parse_ip(options->gateway_text, self->gateway),
                                                "net-gw is a dotted quad", "'%s'", options->gateway_text);
}

bool net_mac_as_wanted(const struct net_options *options, const uint8_t mac[6]) {
    uint8_t wanted[6];
    return !options->mac_given || (net_parse_mac(options->mac_text, wanted) && !memcmp(wanted, mac, 6));
}

/* ---- the RTC tick --------------------------------------------------------- */

volatile unsigned net_ticks;
static uint8_t saved_reg_a, saved_reg_b;
static bool tick_routed;

/* The RTC's register C must be read for the next periodic interrupt. */
static void tick_handler(void) {
    (void)cmos_read(RTC_REG_C);
    net_ticks++;
}

bool net_tick_start(void) {
    net_ticks = 0;
    bool ticking = false;
    if (isa_irq_enable(RTC_IRQ, tick_handler)) {
        tick_routed = true;
        saved_reg_a = cmos_read(RTC_REG_A);
        saved_reg_b = cmos_read(RTC_REG_B);
        cmos_write(RTC_REG_A, RTC_A_DV_32KHZ | TICK_RATE_SELECT);
        (void)cmos_read(RTC_REG_C);
        cmos_write(RTC_REG_B, (saved_reg_b | RTC_B_PIE) & ~(RTC_B_AIE | RTC_B_UIE));
        struct rtc_deadline deadline;
        rtc_deadline_start(&deadline, 3);
        while (!net_ticks && !rtc_deadline_expired(&deadline)) {
        }
        ticking = net_ticks > 0;
    }
    return tap_check(ticking, "RTC 2 Hz tick running (wakes the idle loop)", "no periodic interrupt in 3 s");
}

void net_tick_stop(void) {
    if (!tick_routed) return;
    tick_routed = false;
    cmos_write(RTC_REG_B, saved_reg_b & ~RTC_B_PIE);
    cmos_write(RTC_REG_A, saved_reg_a);
    isa_irq_disable(RTC_IRQ);
    (void)cmos_read(RTC_REG_C);
}

void net_sleep_until_interrupt(void) {
    __asm__ volatile("sti; hlt" ::: "memory"); /* STI's shadow: no wake-up lost between them */
}

/* ---- the serving loop ------------------------------------------------------ */

bool net_wait_tx_room(struct net_driver *driver, unsigned timeout_ticks) {
    unsigned start = net_ticks;
    while (!driver->tx_room()) {
        cpu_disable_interrupts();
        if (!driver->reclaim_tx()) {
            driver->stats.tx_sleeps++;
            net_sleep_until_interrupt();
        }
        cpu_enable_interrupts();
        if (net_ticks - start > timeout_ticks) return false;
    }
    return true;
}

/* Sends an ARP request for the gateway (up to NET_GATEWAY_ATTEMPTS times,
 * GATEWAY_WAIT_TICKS apart), serving frames until it answers. Right on a
 * real LAN too, and what slirp needs: it learns the guest's MAC from the
 * request (as from a DHCP exchange) and only then delivers forwarded
 * datagrams, which would otherwise wait for it to ARP for us first. */
static bool resolve_gateway(struct net_driver *driver, bool *stuck) {
    const struct net_counters *counters = driver->counters;
    for (unsigned attempt = 0; attempt < NET_GATEWAY_ATTEMPTS && !*stuck && !*driver->intx_storm; attempt++) {
        if (!net_wait_tx_room(driver, GATEWAY_WAIT_TICKS)) {
            *stuck = true;
            return false;
        }
        driver->send_gateway_request();
        unsigned start = net_ticks;
        while (!counters->gateway_resolved && !*stuck && !*driver->intx_storm &&
               net_ticks - start < GATEWAY_WAIT_TICKS) {
            driver->reclaim_tx();
            if (driver->receive(GATEWAY_WAIT_TICKS, stuck)) continue;
            cpu_disable_interrupts();
            if (!driver->work_pending()) net_sleep_until_interrupt();
            cpu_enable_interrupts();
        }
        if (counters->gateway_resolved) return true;
    }
    return false;
}

/* Serves frames until the end-of-run datagram, `timeout_ticks` of silence,
 * or a device fault. Returns false on silence or a fault.
 *
 * Interrupt check: frames found right after a wake-up that no queue
 * interrupt caused (only the tick) were published without an interrupt,
 * or the tick raced one; a missing interrupt path finds nearly all frames
 * that way. Frames found while still busy (no sleep since the last scan)
 * prove nothing either way: their interrupt may be on its way. */
static bool serve(struct net_driver *driver, unsigned timeout_ticks, bool *stuck) {
    unsigned last_activity = net_ticks;
    bool woke_without_interrupt = false;
    while (!driver->counters->done && !*stuck && !*driver->intx_storm) {
        bool progressed = driver->reclaim_tx();
        unsigned frames = driver->receive(timeout_ticks, stuck);
        if (frames) {
            if (woke_without_interrupt) driver->stats.frames_without_interrupt += frames;
            progressed = true;
        }
        woke_without_interrupt = false;
        if (progressed) {
            last_activity = net_ticks;
            continue;
        }
        if (net_ticks - last_activity >= timeout_ticks) return false;
        cpu_disable_interrupts();
        unsigned before = *driver->queue_interrupts;
        if (!driver->work_pending()) {
            net_sleep_until_interrupt();
            driver->stats.wake_ups++;
            woke_without_interrupt = *driver->queue_interrupts == before;
        }
        cpu_enable_interrupts();
    }
    return driver->counters->done;
}

bool net_run(struct net_driver *driver, const struct net_options *options, const struct net_identity *self,
             bool *stuck) {
    if (options->gateway_given) {
        bool resolved = resolve_gateway(driver, stuck);
        const uint8_t *m = driver->counters->gateway_mac;
        tap_check(resolved, "ARP request for the gateway answered (net-gw)", "no reply from %s to %u requests",
                  options->gateway_text, NET_GATEWAY_ATTEMPTS);
        if (resolved)
            tap_diag("gateway %s is at %02x:%02x:%02x:%02x:%02x:%02x", options->gateway_text, m[0], m[1], m[2], m[3],
                     m[4], m[5]);
    }
    tap_diag("ready: ip %u.%u.%u.%u mac %02x:%02x:%02x:%02x:%02x:%02x", self->ip[0], self->ip[1], self->ip[2],
             self->ip[3], self->mac[0], self->mac[1], self->mac[2], self->mac[3], self->mac[4], self->mac[5]);
    return !*stuck && serve(driver, options->timeout_seconds * NET_TICKS_PER_SECOND, stuck);
}

/* ---- results ------------------------------------------------------------------ */

void net_report_counters(const struct net_counters *c) {
    tap_diag("%u frames: %u ARP replies, %u ICMP echo replies, %u UDP echoes, %u ignored, %u malformed", c->frames,
             c->arp_replies, c->icmp_replies, c->udp_echoes, c->ignored, c->malformed);
}

void net_report_traffic(const struct net_driver *driver, const struct net_options *options, bool finished,
                        bool stuck, const char *stuck_reason) {
    const struct net_counters *c = driver->counters;
    bool storm = *driver->intx_storm;
    tap_check(finished, "end-of-run datagram received", "%s",
              stuck   ? stuck_reason
              : storm ? "INTx storm: pin masked"
                      : "no frame for the silence timeout");
    if (!finished && !stuck && !storm) tap_diag("silence timeout was %u s", options->timeout_seconds);
    char name[64];
    snprintf(name, sizeof name, "frames received %u", c->frames);
    tap_check(c->frames > 0 && c->udp_echoes > 0, name, "%u UDP echoes", c->udp_echoes);
    if (options->expect_ping)
        tap_check(c->arp_replies > 0 && c->icmp_replies > 0, "ARP requests and ICMP echo requests answered",
                  "%u ARP, %u ICMP replies", c->arp_replies, c->icmp_replies);
    else
        tap_check(c->icmp_replies == 0, "no ICMP echo requests (net-ping=0: the host sends none)", "%u ICMP replies",
                  c->icmp_replies);
    /* The host may send frames with broken checksums on purpose (net-bad=N)
     * to prove the checks can fail; exactly those must be caught. */
    unsigned bad = c->bad_ip_checksums + c->bad_l4_checksums;
    snprintf(name, sizeof name, "bad checksums %u", bad);
    tap_check(bad == options->bad_expected, name, "want %u: %u IPv4 header, %u ICMP/UDP", options->bad_expected,
              c->bad_ip_checksums, c->bad_l4_checksums);
}

bool net_frames_found_by_interrupts(const struct net_driver *driver) {
    return driver->stats.frames_without_interrupt * 10 <= driver->counters->frames;
}
