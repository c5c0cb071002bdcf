/* virtio-net suite: a virtio 1.2 network device (5.1) on the modern PCI
 * transport, driven as a tiny host: it answers ARP, ICMP echo and echoes
 * UDP (net_stack.c) until the host sends the end-of-run datagram, then
 * reports what it saw. The host side is tests/integration/run_net.py.
 *
 * Queues: receiveq1 (0) with every descriptor posted as its own buffer,
 * transmitq1 (1) with one descriptor per frame (header + frame in one
 * buffer: with VERSION_1 the device must not rely on the framing, 5.1.6.2).
 * Waiting is HLT between interrupts; an RTC periodic tick at 2 Hz wakes
 * the loop so that silence ends the run instead of hanging it.
 *
 * Command line: virtio-irq=msix|intx (default msix), net-mrg=1 (negotiate
 * VIRTIO_NET_F_MRG_RXBUF and post 1 KiB buffers so that full-size frames
 * span two), net-ip=a.b.c.d (default 10.0.2.15), net-mac=xx:..:xx (the MAC
 * the device must report), net-timeout=S (seconds of silence, default 120),
 * net-bad=N (frames with a broken checksum the host will send, default 0),
 * net-gw=a.b.c.d (announce ourselves with an ARP request for this gateway
 * before the ready line and require its reply: user-mode networking learns
 * our MAC only from our own frames), net-ping=0 (the host sends no ICMP
 * echo requests, as through user-mode networking, which does not forward
 * them: none may arrive and no ARP request is required). */
#include "console.h"
#include "interrupts.h"
#include "net_suite.h"
#include "platform.h"
#include "suites.h"
#include "tap.h"
#include "virtio_pci.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define BIT(n) (1ull << (n))

/* struct virtio_net_hdr (5.1.6): 12 bytes with VERSION_1, MRG_RXBUF or not. */
#define NET_HDR_BYTES 12
#define NET_HDR_FLAGS 0
#define NET_HDR_GSO_TYPE 1
#define NET_HDR_NUM_BUFFERS 10

#define RX_QUEUE 0
#define TX_QUEUE 1
#define RX_BUFFER_PLAIN 2048    /* >= 1526 (5.1.6.3.1) */
#define RX_BUFFER_MERGEABLE 1024
#define TX_SLOT_BYTES 1536      /* header + ETH_MAX_FRAME */

#define RX_VECTOR PCI_VECTOR_BASE           /* MSI-X entry 1 */
#define INTX_VECTOR (PCI_VECTOR_BASE + 1)
#define CONFIG_VECTOR (PCI_VECTOR_BASE + 2) /* MSI-X entry 0 */
#define TX_VECTOR (PCI_VECTOR_BASE + 3)     /* MSI-X entry 2, or 1 shared */
#define MSIX_CONFIG_ENTRY 0
#define MSIX_RX_ENTRY 1
#define MSIX_TX_ENTRY 2

static struct virtio_pci_device device;
static struct virtq rx, tx;
static struct virtq_rings rx_rings, tx_rings;
static uint8_t rx_buffers[VIRTQ_MAX_SIZE][RX_BUFFER_PLAIN] __attribute__((aligned(64)));
static uint8_t tx_buffers[VIRTQ_MAX_SIZE][TX_SLOT_BYTES] __attribute__((aligned(64)));
static uint8_t gathered[ETH_MAX_FRAME] __attribute__((aligned(64))); /* a frame spread over several buffers */

static bool use_msix, mergeable, shared_msix_vector;
static uint32_t rx_buffer_bytes;
static bool rx_posted[VIRTQ_MAX_SIZE], tx_busy[VIRTQ_MAX_SIZE];
static struct net_identity self;
static struct net_counters counters;
static struct net_options options;
static struct net_driver driver; /* defined with its callbacks below */

static volatile unsigned rx_interrupts, tx_interrupts, queue_interrupts, config_interrupts, empty_isr_interrupts;
static volatile bool intx_storm;

/* What the device did, as seen from the rings. */
static struct {
    unsigned rx_used;             /* used elements taken from receiveq1 */
    unsigned rx_reposted;
    unsigned multi_buffer_frames; /* MRG_RXBUF: frames in 2+ buffers */
    unsigned max_buffers;
    unsigned bad_headers;         /* flags/gso_type/num_buffers not as negotiated */
    unsigned bad_used;            /* ids not in flight, lengths out of range */
    unsigned tx_sent, tx_completed;
    unsigned num_buffers_not_one; /* without MRG_RXBUF (5.1.6.4: must be 1) */
} seen;

/* ---- interrupts ------------------------------------------------------- */

static void rx_handler(void) {
    rx_interrupts++;
    queue_interrupts++;
    if (shared_msix_vector) tx_interrupts++;
}
static void tx_handler(void) {
    tx_interrupts++;
    queue_interrupts++;
}
static void config_handler(void) { config_interrupts++; }

/* Level-triggered INTx: the ISR read deasserts the line before the EOI
 * (4.1.4.5). One bit covers both queues. A line that never deasserts
 * would starve the loop: a storm masks the pin and fails the run. */
#define INTX_STORM 100000
static void intx_handler(void) {
    uint8_t isr = virtio_read_isr(&device);
    if (isr & 1) {
        queue_interrupts++;
        rx_interrupts++;
        tx_interrupts++;
    }
    if (isr & 2) config_interrupts++;
    if (!(isr & 3) && ++empty_isr_interrupts > INTX_STORM) {
        intx_storm = true;
        ioapic_mask_gsi(device.interrupt_line);
    }
}

/* MSI-X: config changes on entry 0, receiveq1 on entry 1, transmitq1 on
 * entry 2, or on entry 1 too when the table has only 2 entries (the last
 * route is then left out). */
static const struct virtio_msix_route msix_routes[] = {
    {MSIX_CONFIG_ENTRY, CONFIG_VECTOR, config_handler},
    {MSIX_RX_ENTRY, RX_VECTOR, rx_handler},
    {MSIX_TX_ENTRY, TX_VECTOR, tx_handler},
};

static struct virtio_interrupts interrupts(void) {
    unsigned routes = sizeof msix_routes / sizeof msix_routes[0];
    return (struct virtio_interrupts){.use_msix = use_msix,
                                      .routes = msix_routes,
                                      .route_count = shared_msix_vector ? routes - 1 : routes,
                                      .intx_vector = INTX_VECTOR,
                                      .intx_handler = intx_handler};
}

/* ---- rings -------------------------------------------------------------- */

static void post_rx_buffer(uint16_t id) {
    rx.desc[id] = (struct virtq_desc){
        .addr = (uint32_t)(uintptr_t)rx_buffers[id], .len = rx_buffer_bytes, .flags = VIRTQ_DESC_F_WRITE, .next = 0};
    rx_posted[id] = true;
    virtq_publish(&rx, id);
}

static uint16_t used_pending(const struct virtq *q) {
    return (uint16_t)(((volatile struct virtq_used *)q->used)->idx - q->last_used);
}

/* The used element `ahead` places past the next one, without taking it. */
static struct virtq_used_elem used_peek(const struct virtq *q, uint16_t ahead) {
    __asm__ volatile("lock; addl $0, (%%esp)" ::: "memory", "cc"); /* the element after seeing idx */
    volatile struct virtq_used_elem *e = &q->used->ring[(uint16_t)(q->last_used + ahead) % q->size];
    return (struct virtq_used_elem){.id = e->id, .len = e->len};
}

/* Returns finished transmit buffers to the free pool. */
static bool reclaim_tx(void) {
    bool any = false;
    struct virtq_used_elem e;
    while (virtq_take_used(&tx, &e)) {
        any = true;
        if (e.id >= tx.size || !tx_busy[e.id]) {
            seen.bad_used++;
            continue;
        }
        tx_busy[e.id] = false;
        seen.tx_completed++;
    }
    return any;
}

/* The first transmit slot not in flight, or -1. */
static int free_tx_slot(void) {
    for (uint16_t i = 0; i < tx.size; i++)
        if (!tx_busy[i]) return i;
    return -1;
}

static bool tx_room(void) { return free_tx_slot() >= 0; }

static bool transmit(uint16_t slot, size_t frame_bytes) {
    memset(tx_buffers[slot], 0, NET_HDR_BYTES); /* no offloads; num_buffers 0 on transmit */
    tx.desc[slot] = (struct virtq_desc){
        .addr = (uint32_t)(uintptr_t)tx_buffers[slot], .len = (uint32_t)(NET_HDR_BYTES + frame_bytes), .flags = 0};
    tx_busy[slot] = true;
    virtq_publish(&tx, slot);
    virtq_notify(&tx);
    seen.tx_sent++;
    return true;
}

/* Checks the header of a received frame against what was negotiated:
 * no GUEST_CSUM, so flags 0 and no GSO (5.1.6.4.1). */
static void check_rx_header(const uint8_t *header) {
    if (header[NET_HDR_FLAGS] != 0 || header[NET_HDR_GSO_TYPE] != 0) seen.bad_headers++;
}

/* Takes one received frame off receiveq1 (several used elements with
 * MRG_RXBUF), answers it, reposts its buffers. Returns false when no
 * complete frame is there yet. */
static bool receive_one(unsigned timeout_ticks, bool *stuck) {
    uint16_t pending = used_pending(&rx);
    if (pending == 0) return false;
    if (pending > rx.size) { /* the device moved idx past what it could have used */
        seen.bad_used++;
        *stuck = true;
        return false;
    }
    struct virtq_used_elem first = used_peek(&rx, 0);
    if (first.id >= rx.size || !rx_posted[first.id] || first.len < NET_HDR_BYTES || first.len > rx_buffer_bytes) {
        seen.bad_used++;
        *stuck = true; /* the buffer cannot be trusted or given back */
        return false;
    }
    const uint8_t *header = rx_buffers[first.id];
    uint16_t buffers = 1;
    if (mergeable) {
        buffers = (uint16_t)(header[NET_HDR_NUM_BUFFERS] | header[NET_HDR_NUM_BUFFERS + 1] << 8);
        if (buffers == 0 || buffers > rx.size) {
            seen.bad_headers++;
            buffers = 1;
        }
        if (buffers > pending) return false; /* the rest is not published yet */
    } else if ((header[NET_HDR_NUM_BUFFERS] | header[NET_HDR_NUM_BUFFERS + 1] << 8) != 1) {
        seen.num_buffers_not_one++;
    }
    check_rx_header(header);

    /* Collect the pieces; a single buffer is used in place. */
    const uint8_t *frame = header + NET_HDR_BYTES;
    size_t frame_bytes = first.len - NET_HDR_BYTES;
    bool valid = true;
    for (uint16_t i = 1; i < buffers; i++) {
        struct virtq_used_elem e = used_peek(&rx, i);
        if (e.id >= rx.size || !rx_posted[e.id] || e.len > rx_buffer_bytes) {
            seen.bad_used++;
            *stuck = true;
            return false;
        }
        if (i == 1) net_copy(gathered, frame, frame_bytes);
        if (frame_bytes + e.len > sizeof gathered) valid = false;
        else net_copy(gathered + frame_bytes, rx_buffers[e.id], e.len);
        frame_bytes += e.len;
        frame = gathered;
    }
    if (buffers > 1) seen.multi_buffer_frames++;
    if (buffers > seen.max_buffers) seen.max_buffers = buffers;

    if (valid) {
        if (!net_wait_tx_room(&driver, timeout_ticks)) {
            *stuck = true;
            return false;
        }
        int slot = free_tx_slot();
        size_t reply = net_handle_frame(&self, frame, frame_bytes, tx_buffers[slot] + NET_HDR_BYTES, &counters);
        if (reply) transmit((uint16_t)slot, reply);
    } else {
        counters.frames++;
        counters.malformed++;
    }
    /* The frame is answered (copied into the reply): its buffers go back. */
    for (uint16_t i = 0; i < buffers; i++) {
        struct virtq_used_elem e = used_peek(&rx, 0);
        rx.last_used++;
        seen.rx_used++;
        rx_posted[e.id] = false;
        post_rx_buffer((uint16_t)e.id);
        seen.rx_reposted++;
    }
    return true;
}

/* Up to a ring's worth of frames, then one doorbell for the reposted buffers. */
static unsigned receive_frames(unsigned timeout_ticks, bool *stuck) {
    unsigned frames = 0;
    while (frames < rx.size && receive_one(timeout_ticks, stuck)) frames++;
    if (frames) virtq_notify(&rx); /* buffers were reposted */
    return frames;
}

static bool work_pending(void) { return used_pending(&rx) || used_pending(&tx); }

static void send_gateway_request(void) {
    int slot = free_tx_slot();
    transmit((uint16_t)slot, net_arp_request(&self, self.gateway, tx_buffers[slot] + NET_HDR_BYTES));
}

static struct net_driver driver = {
    .counters = &counters,
    .queue_interrupts = &queue_interrupts,
    .intx_storm = &intx_storm,
    .reclaim_tx = reclaim_tx,
    .tx_room = tx_room,
    .receive = receive_frames,
    .work_pending = work_pending,
    .send_gateway_request = send_gateway_request,
};

/* ---- set-up --------------------------------------------------------------- */

/* Initialisation (3.1.1, 5.1.5): reset, ACKNOWLEDGE, DRIVER, features,
 * FEATURES_OK, queues, receive buffers, DRIVER_OK. */
static bool initialise(void) {
    bool reset = virtio_reset(&device);
    if (!tap_check(reset, "reset: device status reads 0", "status %02x", virtio_get_status(&device))) return false;
    uint64_t wanted = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | (mergeable ? BIT(VIRTIO_NET_F_MRG_RXBUF) : 0);
    uint64_t offered, features;
    uint8_t status = virtio_negotiate_features(&device, wanted, &offered, &features);
    bool negotiated = features == wanted && (status & VIRTIO_STATUS_FEATURES_OK);
    if (!tap_check(negotiated, mergeable ? "VERSION_1, MAC and MRG_RXBUF negotiated" : "VERSION_1 and MAC negotiated",
                   "offered %08x%08x, status %02x", (unsigned)(offered >> 32), (unsigned)offered, status))
        return false;

    for (int i = 0; i < 6; i++) self.mac[i] = virtio_config_read8(&device, (uint32_t)i);
    bool mac_ok = virtio_config_has(&device, 0, 6) && net_mac_as_wanted(&options, self.mac);
    tap_check(mac_ok, "MAC read from the device configuration", "%02x:%02x:%02x:%02x:%02x:%02x, want %s",
              self.mac[0], self.mac[1], self.mac[2], self.mac[3], self.mac[4], self.mac[5],
              options.mac_text);

    char why[120] = "";
    uint16_t none = VIRTIO_MSI_NO_VECTOR;
    uint16_t config_vector = virtio_set_config_vector(&device, use_msix ? MSIX_CONFIG_ENTRY : none);
    bool ok = virtio_queue_setup_rings(&device, &rx, &rx_rings, RX_QUEUE, use_msix ? MSIX_RX_ENTRY : none, why,
                                       sizeof why) &&
              virtio_queue_setup_rings(&device, &tx, &tx_rings, TX_QUEUE,
                                       use_msix ? (shared_msix_vector ? MSIX_RX_ENTRY : MSIX_TX_ENTRY) : none, why,
                                       sizeof why);
    if (ok && config_vector != (use_msix ? MSIX_CONFIG_ENTRY : none)) {
        ok = false;
        snprintf(why, sizeof why, "config_msix_vector read back %x", config_vector);
    }
    if (!tap_check(ok, "receiveq1 and transmitq1 set up (size, vectors, enable read back)", "%s", why)) return false;
    tap_diag("rx queue %u x %u-byte buffers, tx queue %u, MSI-X %s", rx.size, (unsigned)rx_buffer_bytes, tx.size,
             !use_msix ? "off" : shared_msix_vector ? "one vector for both queues" : "a vector per queue");

    /* Fill receiveq1 before DRIVER_OK (5.1.5); the doorbell comes after. */
    for (uint16_t id = 0; id < rx.size; id++) post_rx_buffer(id);
    virtio_set_status(&device, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                                   VIRTIO_STATUS_DRIVER_OK);
    virtq_notify(&rx);
    status = virtio_get_status(&device);
    bool live = (status & VIRTIO_STATUS_DRIVER_OK) && !(status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
    return tap_check(live, "DRIVER_OK set, no NEEDS_RESET or FAILED", "status %02x", status);
}

/* ---- results ------------------------------------------------------------- */

static void report(bool finished, bool stuck) {
    const struct net_counters *c = &counters;
    const struct net_loop_stats *loop = &driver.stats;
    net_report_counters(c);
    tap_diag("rx: %u used elements, %u buffers reposted, %u frames in 2+ buffers (max %u); tx: %u sent, %u completed, "
             "%u sleeps waiting for a free slot",
             seen.rx_used, seen.rx_reposted, seen.multi_buffer_frames, seen.max_buffers, seen.tx_sent,
             seen.tx_completed, loop->tx_sleeps);
    tap_diag("interrupts: %u rx, %u tx, %u config, %u with an empty ISR; %u wake-ups from HLT, %u frames found "
             "after one with no queue interrupt; %u ticks",
             rx_interrupts, tx_interrupts, config_interrupts, empty_isr_interrupts, loop->wake_ups,
             loop->frames_without_interrupt, net_ticks);
    if (!mergeable && seen.num_buffers_not_one)
        tap_diag("num_buffers was not 1 in %u headers (5.1.6.4: a device must set 1 without MRG_RXBUF)",
                 seen.num_buffers_not_one);
    net_report_traffic(&driver, &options, finished, stuck, "the device broke the ring protocol (see counts above)");
    tap_check(c->malformed == 0 && seen.bad_headers == 0 && seen.bad_used == 0,
              "no malformed frames, bad headers or bad used elements", "%u malformed, %u headers, %u used elements",
              c->malformed, seen.bad_headers, seen.bad_used);
    unsigned outstanding = 0;
    for (uint16_t i = 0; i < rx.size; i++) outstanding += rx_posted[i];
    tap_check(seen.rx_used > rx.size && outstanding == rx.size, "rx buffers recycled",
              "%u used elements for %u buffers, %u posted at the end", seen.rx_used, rx.size, outstanding);
    reclaim_tx();
    tap_check(seen.tx_sent > 0 && seen.tx_completed == seen.tx_sent, "every transmitted frame completed",
              "%u sent, %u completed", seen.tx_sent, seen.tx_completed);
    if (mergeable)
        tap_check(seen.multi_buffer_frames > 0, "MRG_RXBUF: large frames spanned several buffers (num_buffers)",
                  "no frame used more than one %u-byte buffer", (unsigned)rx_buffer_bytes);
    bool interrupts_ok =
        rx_interrupts > 0 && tx_interrupts > 0 && config_interrupts == 0 && net_frames_found_by_interrupts(&driver);
    tap_check(interrupts_ok, use_msix ? "completions raised MSI-X interrupts" : "completions raised INTx",
              "%u rx, %u tx, %u config interrupts, %u of %u frames without one", rx_interrupts, tx_interrupts,
              config_interrupts, loop->frames_without_interrupt, c->frames);
}

static void reset_state(void) {
    counters = (struct net_counters){0};
    memset(&seen, 0, sizeof seen);
    memset(rx_posted, 0, sizeof rx_posted);
    memset(tx_busy, 0, sizeof tx_busy);
    driver.stats = (struct net_loop_stats){0};
    rx_interrupts = tx_interrupts = queue_interrupts = config_interrupts = empty_isr_interrupts = 0;
    intx_storm = shared_msix_vector = false;
}

void suite_virtio_net(void) {
    char text[24] = "msix";
    cmdline_value("virtio-irq", text, sizeof text);
    use_msix = strncmp(text, "intx", 5) != 0;
    text[0] = '0';
    text[1] = '\0';
    cmdline_value("net-mrg", text, sizeof text);
    mergeable = text[0] == '1';
    rx_buffer_bytes = mergeable ? RX_BUFFER_MERGEABLE : RX_BUFFER_PLAIN;
    reset_state();
    if (!net_read_options(&self, &options)) return;

    uint16_t pci_id = VIRTIO_PCI_MODERN_DEVICE_BASE + VIRTIO_ID_NET;
    if (!tap_check(virtio_pci_find(pci_id, &device), "virtio-net 1af4:1041 on bus 0", "not found")) return;
    char why[160] = "";
    bool mapped = virtio_pci_map(&device, why, sizeof why);
    tap_diag("%02x.%x, interrupt line %u, mode %s, %s receive buffers", (unsigned)device.dev, (unsigned)device.fn,
             device.interrupt_line, use_msix ? "msix" : "intx", mergeable ? "mergeable" : "plain");
    tap_check(mapped, "common/notify/ISR/device capabilities inside their BARs", "%s", why);
    struct virtio_interrupts irq = interrupts();
    if (mapped && virtio_check_interrupt_resources(&device, &irq)) {
        shared_msix_vector = use_msix && device.msix_entries < 3;
        irq = interrupts(); /* transmitq1 on its own entry or on receiveq1's */
        bool ticking = net_tick_start();
        virtio_connect_interrupts(&device, &irq);
        bool stuck = false;
        if (ticking && initialise()) {
            bool finished = net_run(&driver, &options, &self, &stuck);
            report(finished, stuck);
        }
        bool reset = virtio_reset(&device);
        tap_check(reset, "reset at the end: device status reads 0", "status %02x", virtio_get_status(&device));
        virtio_disconnect_interrupts(&device, &irq);
        net_tick_stop();
    }
    virtio_pci_unmap(&device);
}
