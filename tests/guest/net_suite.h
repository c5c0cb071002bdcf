/* What the NIC suites (virtio-net, e1000) share around the responder in
 * net_stack.c: their command-line words, the 2 Hz RTC tick that wakes the
 * idle loop, the serving loop (gateway ARP, ready line, HLT between
 * interrupts, silence timeout) and the report lines about the traffic.
 * A suite plugs its rings in through struct net_driver; everything here is
 * device-independent. */
#pragma once

#include "net_stack.h"

#define NET_TICKS_PER_SECOND 2
#define NET_GATEWAY_ATTEMPTS 3

/* The words net-timeout, net-bad, net-ping, net-gw and net-mac (README.md). */
struct net_options {
    unsigned timeout_seconds; /* net-timeout: seconds without a frame before giving up */
    unsigned bad_expected;    /* net-bad: broken checksums the host sends on purpose */
    bool expect_ping;         /* net-ping: ICMP echo requests will arrive */
    bool gateway_given;       /* net-gw: its address is in net_identity.gateway */
    char gateway_text[24];
    bool mac_given;           /* net-mac */
    char mac_text[40];        /* as given, or "any" */
};

/* Reads net-ip into self->ip and net-gw into self->gateway (0.0.0.0 when
 * absent), checking each is a dotted quad (a TAP check), and the other
 * words into `options`. False when the run cannot go on. */
bool net_read_options(struct net_identity *self, struct net_options *options);

/* net-mac: true when none was given, or it parses and equals `mac`. */
bool net_mac_as_wanted(const struct net_options *options, const uint8_t mac[6]);

/* The 2 Hz RTC periodic tick. net_tick_start zeroes net_ticks, starts the
 * tick, waits (polling, bounded) for the first one and reports that as a
 * TAP check: HLT is only safe once something is known to wake it.
 * net_tick_stop restores registers A and B and masks IRQ 8. */
extern volatile unsigned net_ticks;
bool net_tick_start(void);
void net_tick_stop(void);

/* STI; HLT, entered with interrupts disabled: STI's shadow loses no
 * wake-up between the caller's last look and the HLT. */
void net_sleep_until_interrupt(void);

/* What the serving loop found out about interrupts and transmit room. */
struct net_loop_stats {
    unsigned wake_ups;                 /* returns from HLT */
    unsigned frames_without_interrupt; /* found after a wake-up that only the tick caused */
    unsigned tx_sleeps;                /* HLTs waiting for transmit room */
};

/* A NIC suite's side of the loop. Callbacks run with interrupts enabled,
 * except work_pending, which runs with them disabled right before a HLT. */
struct net_driver {
    struct net_counters *counters;              /* what net_handle_frame tallies */
    const volatile unsigned *queue_interrupts;  /* rx/tx completion interrupts so far */
    const volatile bool *intx_storm;            /* set when the pin had to be masked: stop */
    bool (*reclaim_tx)(void);                   /* takes completed transmissions; true when any */
    bool (*tx_room)(void);                      /* room to queue one more packet */
    /* Takes, answers and gives back up to a ring's worth of received
     * frames; returns how many. Sets *stuck when the device broke the
     * protocol or no transmit room came within timeout_ticks. */
    unsigned (*receive)(unsigned timeout_ticks, bool *stuck);
    bool (*work_pending)(void);                 /* a frame or completion waits: do not sleep */
    void (*send_gateway_request)(void);         /* queues net_arp_request for the gateway (room checked) */
    struct net_loop_stats stats;                /* kept here; the suite zeroes it */
};

/* Waits (bounded by `timeout_ticks`) until tx_room, reclaiming and
 * sleeping between completions. False when no room came. */
bool net_wait_tx_room(struct net_driver *driver, unsigned timeout_ticks);

/* With net-gw: the ARP request for the gateway answered (a TAP check, its
 * MAC printed). Then the ready line "# <suite>: ready: ip ... mac ...",
 * then serving until the end-of-run datagram (true), net-timeout seconds
 * without a frame, an INTx storm or *stuck (false). */
bool net_run(struct net_driver *driver, const struct net_options *options, const struct net_identity *self,
             bool *stuck);

/* The report's first line: what the responder answered. */
void net_report_counters(const struct net_counters *counters);
/* The checks on the traffic every NIC suite makes: the end-of-run datagram
 * (`stuck_reason` says what *stuck means for this device), frames and UDP
 * echoes, ARP/ICMP answered (or no ICMP with net-ping=0), bad checksums
 * = net-bad. */
void net_report_traffic(const struct net_driver *driver, const struct net_options *options, bool finished,
                        bool stuck, const char *stuck_reason);
/* Every wake-up should come from the device: a few frames may be found by
 * a tick that raced the interrupt, a missing interrupt path finds them all
 * that way. True when at most 10% of the frames were found so. */
bool net_frames_found_by_interrupts(const struct net_driver *driver);
