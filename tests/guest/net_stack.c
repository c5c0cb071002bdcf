/* ARP (RFC 826), IPv4 (RFC 791), ICMP echo (RFC 792) and UDP (RFC 768)
 * responder for the NIC suites; see net_stack.h. Checksums follow RFC 1071:
 * the one's-complement sum is independent of byte order, so words are
 * summed as they lie in memory and the result is stored the same way. */
#include "net_stack.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ARP_BYTES 28
#define IP_PROTO_ICMP 1
#define IP_PROTO_UDP 17
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define IP_HEADER_MIN 20
#define UDP_HEADER_BYTES 8
#define REPLY_TTL 64

typedef uint32_t unaligned_u32 __attribute__((aligned(1), may_alias));
typedef uint16_t unaligned_u16 __attribute__((aligned(1), may_alias));

static uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint16_t get_raw16(const uint8_t *p) { return *(const unaligned_u16 *)p; }
static void put_raw16(uint8_t *p, uint16_t value) { *(unaligned_u16 *)p = value; }

void net_copy(void *dst, const void *src, size_t n) {
    size_t words = n / 4, bytes = n % 4;
    __asm__ volatile("rep movsl\n\tmovl %3, %%ecx\n\trep movsb"
                     : "+D"(dst), "+S"(src), "+c"(words)
                     : "r"(bytes)
                     : "memory");
}

/* The one's-complement sum of n bytes plus `initial`, folded to 16 bits.
 * 32-bit words halve the loop count; folding a 32-bit word's halves is
 * the same sum modulo 0xFFFF. */
static uint16_t checksum_sum(const uint8_t *p, size_t n, uint32_t initial) {
    uint64_t sum = initial;
    for (; n >= 4; n -= 4, p += 4) sum += *(const unaligned_u32 *)p;
    if (n >= 2) {
        sum += get_raw16(p);
        p += 2;
        n -= 2;
    }
    if (n) sum += *p; /* the odd byte, padded with a zero byte after it */
    sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
    sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
    uint32_t folded = (uint32_t)sum;
    while (folded >> 16) folded = (folded & 0xFFFF) + (folded >> 16);
    return (uint16_t)folded;
}

/* A field's value so that the summed range checks out (0xFFFF). */
static uint16_t checksum_field(const uint8_t *p, size_t n, uint32_t initial) {
    return (uint16_t)~checksum_sum(p, n, initial);
}

bool net_parse_ip(const char *text, uint8_t out[4]) {
    for (int part = 0; part < 4; part++) {
        unsigned value = 0, digits = 0;
        for (; *text >= '0' && *text <= '9' && digits < 4; text++, digits++) value = value * 10 + (unsigned)(*text - '0');
        if (digits == 0 || value > 255) return false;
        out[part] = (uint8_t)value;
        if (part < 3 && *text++ != '.') return false;
    }
    return *text == '\0' || *text == ' ';
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool net_parse_mac(const char *text, uint8_t out[6]) {
    for (int i = 0; i < 6; i++) {
        int high = hex_digit(text[0]), low = hex_digit(text[1]);
        if (high < 0 || low < 0) return false;
        out[i] = (uint8_t)(high << 4 | low);
        text += 2;
        if (i < 5 && *text++ != ':') return false;
    }
    return *text == '\0' || *text == ' ';
}

static size_t padded(uint8_t *reply, size_t length) {
    if (length < ETH_MIN_FRAME) memset(reply + length, 0, ETH_MIN_FRAME - length);
    return length < ETH_MIN_FRAME ? ETH_MIN_FRAME : length;
}

static void ethernet_reply_header(const struct net_identity *self, const uint8_t *frame, uint8_t *reply) {
    memcpy(reply, frame + 6, 6); /* back to whoever sent it */
    memcpy(reply + 6, self->mac, 6);
    memcpy(reply + 12, frame + 12, 2);
}

static size_t handle_arp(const struct net_identity *self, const uint8_t *frame, size_t length, uint8_t *reply,
                         struct net_counters *c) {
    const uint8_t *arp = frame + ETH_HEADER_BYTES;
    if (length < ETH_HEADER_BYTES + ARP_BYTES) {
        c->malformed++;
        return 0;
    }
    /* Ethernet/IPv4 request (htype 1, ptype 0800, hlen 6, plen 4, op 1) for our address. */
    static const uint8_t request_head[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    if (!memcmp(arp, request_head, 7) && arp[7] == 2 && !memcmp(arp + 24, self->ip, 4)) {
        /* A reply to our request: remember the gateway's address. */
        static const uint8_t nowhere[4] = {0, 0, 0, 0};
        c->arp_replies_received++;
        if (memcmp(self->gateway, nowhere, 4) && !memcmp(arp + 14, self->gateway, 4)) {
            memcpy(c->gateway_mac, arp + 8, 6);
            c->gateway_resolved = true;
        }
        return 0;
    }
    if (memcmp(arp, request_head, sizeof request_head) || memcmp(arp + 24, self->ip, 4)) {
        c->ignored++;
        return 0;
    }
    ethernet_reply_header(self, frame, reply);
    uint8_t *out = reply + ETH_HEADER_BYTES;
    memcpy(out, request_head, 6);
    out[6] = 0;
    out[7] = 2; /* reply */
    memcpy(out + 8, self->mac, 6);
    memcpy(out + 14, self->ip, 4);
    memcpy(out + 18, arp + 8, 10); /* the asker's hardware and protocol address */
    c->arp_replies++;
    return padded(reply, ETH_HEADER_BYTES + ARP_BYTES);
}

size_t net_arp_request(const struct net_identity *self, const uint8_t target_ip[4], uint8_t *frame) {
    static const uint8_t request_head[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    memset(frame, 0xFF, 6); /* broadcast */
    memcpy(frame + 6, self->mac, 6);
    frame[12] = ETHERTYPE_ARP >> 8;
    frame[13] = ETHERTYPE_ARP & 0xFF;
    uint8_t *arp = frame + ETH_HEADER_BYTES;
    memcpy(arp, request_head, sizeof request_head);
    memcpy(arp + 8, self->mac, 6);
    memcpy(arp + 14, self->ip, 4);
    memset(arp + 18, 0, 6); /* target hardware address: unknown */
    memcpy(arp + 24, target_ip, 4);
    return padded(frame, ETH_HEADER_BYTES + ARP_BYTES);
}

/* Copies the request's Ethernet and IP headers into the reply with the
 * addresses swapped, a fresh TTL and header checksum. */
static void ip_reply_header(const struct net_identity *self, const uint8_t *frame, size_t ip_header_bytes,
                            uint8_t *reply) {
    ethernet_reply_header(self, frame, reply);
    const uint8_t *ip = frame + ETH_HEADER_BYTES;
    uint8_t *out = reply + ETH_HEADER_BYTES;
    net_copy(out, ip, ip_header_bytes);
    memcpy(out + 12, self->ip, 4);
    memcpy(out + 16, ip + 12, 4);
    out[8] = REPLY_TTL;
    put_raw16(out + 10, 0);
    put_raw16(out + 10, checksum_field(out, ip_header_bytes, 0));
}

static size_t handle_icmp(const struct net_identity *self, const uint8_t *frame, size_t ip_header_bytes,
                          size_t ip_total, uint8_t *reply, struct net_counters *c) {
    const uint8_t *icmp = frame + ETH_HEADER_BYTES + ip_header_bytes;
    size_t icmp_bytes = ip_total - ip_header_bytes;
    if (icmp_bytes < 8) {
        c->malformed++;
        return 0;
    }
    if (checksum_sum(icmp, icmp_bytes, 0) != 0xFFFF) {
        c->bad_l4_checksums++;
        return 0;
    }
    if (icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0) {
        c->ignored++;
        return 0;
    }
    ip_reply_header(self, frame, ip_header_bytes, reply);
    uint8_t *out = reply + ETH_HEADER_BYTES + ip_header_bytes;
    net_copy(out, icmp, icmp_bytes); /* identifier, sequence and data unchanged */
    out[0] = ICMP_ECHO_REPLY;
    put_raw16(out + 2, 0);
    put_raw16(out + 2, checksum_field(out, icmp_bytes, 0));
    c->icmp_replies++;
    return padded(reply, ETH_HEADER_BYTES + ip_total);
}

static size_t handle_udp(const struct net_identity *self, const uint8_t *frame, size_t ip_header_bytes,
                         size_t ip_total, uint8_t *reply, struct net_counters *c) {
    const uint8_t *ip = frame + ETH_HEADER_BYTES;
    const uint8_t *udp = ip + ip_header_bytes;
    size_t udp_bytes = get_be16(udp + 4);
    if (udp_bytes < UDP_HEADER_BYTES || udp_bytes > ip_total - ip_header_bytes) {
        c->malformed++;
        return 0;
    }
    if (get_raw16(udp + 6) != 0) {
        /* Pseudo-header: addresses, zero + protocol, UDP length (RFC 768),
         * each as it lies in memory (protocol 17 sits in the second byte). */
        uint32_t pseudo = (uint32_t)checksum_sum(ip + 12, 8, 0) + get_raw16(udp + 4) + ((uint32_t)IP_PROTO_UDP << 8);
        if (checksum_sum(udp, udp_bytes, pseudo) != 0xFFFF) {
            c->bad_l4_checksums++;
            return 0;
        }
    }
    const uint8_t *payload = udp + UDP_HEADER_BYTES;
    size_t payload_bytes = udp_bytes - UDP_HEADER_BYTES;
    if (get_be16(udp + 2) == NET_DONE_PORT) {
        size_t done_bytes = sizeof NET_DONE_PAYLOAD - 1;
        if (payload_bytes == done_bytes && !memcmp(payload, NET_DONE_PAYLOAD, done_bytes)) c->done = true;
        else c->ignored++;
        return 0;
    }
    ip_reply_header(self, frame, ip_header_bytes, reply);
    uint8_t *out = reply + ETH_HEADER_BYTES + ip_header_bytes;
    net_copy(out, udp, udp_bytes);
    memcpy(out, udp + 2, 2); /* swap the ports */
    memcpy(out + 2, udp, 2);
    /* The checksum field is left as it came: swapping the addresses and the
     * ports reorders the summed words without changing the sum, and the
     * incoming checksum was verified above (0, "none", stays 0). */
    if (ip_total != ip_header_bytes + udp_bytes) {
        /* Bytes past the UDP length inside the IP datagram are dropped. */
        uint8_t *out_ip = reply + ETH_HEADER_BYTES;
        size_t total = ip_header_bytes + udp_bytes;
        out_ip[2] = (uint8_t)(total >> 8);
        out_ip[3] = (uint8_t)total;
        put_raw16(out_ip + 10, 0);
        put_raw16(out_ip + 10, checksum_field(out_ip, ip_header_bytes, 0));
        ip_total = total;
    }
    c->udp_echoes++;
    return padded(reply, ETH_HEADER_BYTES + ip_total);
}

static size_t handle_ipv4(const struct net_identity *self, const uint8_t *frame, size_t length, bool to_us,
                          uint8_t *reply, struct net_counters *c) {
    const uint8_t *ip = frame + ETH_HEADER_BYTES;
    if (length < ETH_HEADER_BYTES + IP_HEADER_MIN) {
        c->malformed++;
        return 0;
    }
    size_t header_bytes = (size_t)(ip[0] & 0x0F) * 4;
    size_t total = get_be16(ip + 2);
    if ((ip[0] >> 4) != 4 || header_bytes < IP_HEADER_MIN || total < header_bytes ||
        total > length - ETH_HEADER_BYTES) {
        c->malformed++;
        return 0;
    }
    if (checksum_sum(ip, header_bytes, 0) != 0xFFFF) {
        c->bad_ip_checksums++;
        return 0;
    }
    bool fragment = (get_be16(ip + 6) & 0x3FFF) != 0; /* MF set or a non-zero offset */
    if (!to_us || memcmp(ip + 16, self->ip, 4) || fragment) {
        c->ignored++;
        return 0;
    }
    if (ip[9] == IP_PROTO_ICMP) return handle_icmp(self, frame, header_bytes, total, reply, c);
    if (ip[9] == IP_PROTO_UDP) return handle_udp(self, frame, header_bytes, total, reply, c);
    c->ignored++;
    return 0;
}

size_t net_handle_frame(const struct net_identity *self, const uint8_t *frame, size_t length, uint8_t *reply,
                        struct net_counters *c) {
    c->frames++;
    if (length < ETH_HEADER_BYTES || length > ETH_MAX_FRAME) {
        c->malformed++;
        return 0;
    }
    static const uint8_t broadcast[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    bool to_us = !memcmp(frame, self->mac, 6) || !memcmp(frame, broadcast, 6);
    uint16_t type = get_be16(frame + 12);
    if (to_us && type == ETHERTYPE_ARP) return handle_arp(self, frame, length, reply, c);
    /* Every IPv4 header's checksum is checked, even in frames not for us. */
    if (type == ETHERTYPE_IPV4) return handle_ipv4(self, frame, length, to_us, reply, c);
    c->ignored++;
    return 0;
}
