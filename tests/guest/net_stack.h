/* A tiny IPv4 responder for the NIC suites, independent of the device:
 * given one received Ethernet frame it answers ARP requests for our
 * address, ICMP echo requests and every UDP datagram (echoed back to its
 * sender), checks the IPv4 header, ICMP and UDP checksums, and spots the
 * "probe-net-done" datagram that ends a run. Per-frame work is one
 * checksum pass and one copy: guest code is emulated at a few million
 * instructions per second. */
#pragma once

#include "io.h"

#define ETH_HEADER_BYTES 14
#define ETH_MIN_FRAME 60     /* without the FCS, which no VMM passes on */
#define ETH_MAX_FRAME 1514   /* MTU 1500 + header, no VLAN tag */
#define NET_DONE_PORT 9      /* discard: the end-of-run datagram goes here */
#define NET_DONE_PAYLOAD "probe-net-done"

struct net_identity {
    uint8_t mac[6];
    uint8_t ip[4];
    uint8_t gateway[4];        /* 0.0.0.0: none; an ARP reply from it sets gateway_resolved */
};

struct net_counters {
    unsigned frames;           /* every frame handed to net_handle_frame */
    unsigned arp_replies;
    unsigned icmp_replies;
    unsigned udp_echoes;
    unsigned bad_ip_checksums;
    unsigned bad_l4_checksums; /* ICMP, or UDP with a non-zero checksum */
    unsigned malformed;        /* lengths that do not add up */
    unsigned ignored;          /* not for us, or a protocol we do not answer */
    bool done;                 /* the end-of-run datagram arrived */
    unsigned arp_replies_received; /* ARP replies addressed to us (answers to net_arp_request) */
    bool gateway_resolved;     /* an ARP reply came from self->gateway */
    uint8_t gateway_mac[6];    /* ... with this hardware address */
};

/* Parses "a.b.c.d" into out[4]; false when it is not a dotted quad. */
bool net_parse_ip(const char *text, uint8_t out[4]);
/* Parses "xx:xx:xx:xx:xx:xx" (hex, either case). */
bool net_parse_mac(const char *text, uint8_t out[6]);

/* Handles one frame (`length` bytes, no FCS). When it calls for an answer,
 * writes the reply frame to `reply` (room for ETH_MAX_FRAME bytes) and
 * returns its length (at least ETH_MIN_FRAME); otherwise returns 0. */
size_t net_handle_frame(const struct net_identity *self, const uint8_t *frame, size_t length, uint8_t *reply,
                        struct net_counters *counters);

/* Writes a broadcast ARP request "who has target_ip, tell self" to
 * `frame` (room for ETH_MIN_FRAME bytes) and returns its length. Sent at
 * start so that the network learns our MAC before it has traffic for us:
 * a user-mode network (slirp) cannot deliver forwarded datagrams to a
 * guest it has not heard from. */
size_t net_arp_request(const struct net_identity *self, const uint8_t target_ip[4], uint8_t *frame);

/* A fast memcpy for frame-sized copies (rep movsl). */
void net_copy(void *dst, const void *src, size_t n);
