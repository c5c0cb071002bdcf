/* virtio-net-bench suite: the guest half of the end-to-end network
 * benchmark (tools/bench/net_bench.py). Not a functional test (that is the
 * virtio-net suite) but a load generator and counter, driven like a simple
 * driver: VERSION_1 + MAC, no offloads, receiveq1 and transmitq1 of
 * min(max, 16) entries, MSI-X, the CPU halted while it waits.
 *
 * Four phases, in this order, each over `bench-frames=N` frames (default
 * 3000) of EtherType 0x88B5 whose first payload byte tags the phase:
 *   tx64, tx1500  N frames of 64 / 1500 bytes (Ethernet header included,
 *                 no FCS) to the broadcast address, as fast as the ring
 *                 allows: every free slot filled, one doorbell per burst
 *                 (none while the device sets VIRTQ_USED_F_NO_NOTIFY), a
 *                 halt until the tx interrupt when the ring is full. The
 *                 host counts and timestamps them on the TAP.
 *   rx64, rx1500  after "# bench: <phase> ready" the host floods frames of
 *                 that size and tag at the guest's MAC; the guest counts
 *                 those with the phase's tag (others, e.g. left over from
 *                 the previous phase, are only counted as "other") and
 *                 reposts each buffer at once. It prints "start" at the
 *                 first tagged frame and "end" after N; the host times the
 *                 two lines.
 * Lines: "# bench: <phase> start", "# bench: <phase> end frames=N other=M
 * halts=H bad=B". Frame contents are not checked beyond the tag.
 * A phase waits forever for a device that never interrupts or a host that
 * never floods: the host runner has its own timeout. */
#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "suites.h"
#include "tap.h"
#include "virtio_pci.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC 5
#define NET_HDR_BYTES 12 /* virtio_net_hdr_v1 with VERSION_1 (5.1.6) */
#define ETH_HEADER 14
#define BENCH_ETHERTYPE 0x88B5
#define LARGEST_FRAME 1500
#define RX_BUFFER_BYTES 2048 /* >= 12 + 1514 (5.1.6.3.1) */
#define TX_SLOT_BYTES (NET_HDR_BYTES + LARGEST_FRAME)
#define VIRTQ_USED_F_NO_NOTIFY 1
#define DEFAULT_FRAMES 3000u
#define MAX_FRAMES 1000000u

#define RX_VECTOR PCI_VECTOR_BASE           /* MSI-X entry 1 */
#define CONFIG_VECTOR (PCI_VECTOR_BASE + 2) /* MSI-X entry 0 */
#define TX_VECTOR (PCI_VECTOR_BASE + 3)     /* MSI-X entry 2, or 1 shared */
#define MSIX_CONFIG_ENTRY 0
#define MSIX_RX_ENTRY 1
#define MSIX_TX_ENTRY 2

static struct virtio_pci_device device;
static struct virtq rx, tx;
static struct virtq_rings rx_rings, tx_rings;
static uint8_t rx_buffers[VIRTQ_MAX_SIZE][RX_BUFFER_BYTES] __attribute__((aligned(64)));
static uint8_t tx_buffers[VIRTQ_MAX_SIZE][TX_SLOT_BYTES] __attribute__((aligned(64)));
static uint8_t mac[6];
static bool shared_vector;
static volatile unsigned rx_interrupts, tx_interrupts, config_interrupts;

static void rx_handler(void) {
    rx_interrupts++;
    if (shared_vector) tx_interrupts++;
}
static void tx_handler(void) { tx_interrupts++; }
static void config_handler(void) { config_interrupts++; }

struct phase {
    const char *name;
    bool transmit;
    uint16_t frame_bytes;
    uint8_t tag;
};
static const struct phase phases[] = {
    {"tx64", true, 64, 1}, {"tx1500", true, 1500, 2}, {"rx64", false, 64, 3}, {"rx1500", false, 1500, 4}};

static unsigned parse_frames(void) {
    char text[16];
    if (!cmdline_value("bench-frames", text, sizeof text)) return DEFAULT_FRAMES;
    unsigned n = 0;
    for (const char *p = text; *p >= '0' && *p <= '9' && n <= MAX_FRAMES; p++) n = n * 10 + (unsigned)(*p - '0');
    return n == 0 ? DEFAULT_FRAMES : n > MAX_FRAMES ? MAX_FRAMES : n;
}

static bool used_empty(const struct virtq *q) { return ((volatile struct virtq_used *)q->used)->idx == q->last_used; }

static void notify_unless_suppressed(const struct virtq *q) {
    __asm__ volatile("lock; addl $0, (%%esp)" ::: "memory", "cc"); /* avail idx before reading flags */
    if (!(((volatile struct virtq_used *)q->used)->flags & VIRTQ_USED_F_NO_NOTIFY)) virtq_notify(q);
}

/* Halts until an interrupt unless `q` already has used elements; "sti; hlt"
 * opens interrupts only for the halt, so none slips in between. */
static bool halt_unless_used(const struct virtq *q) {
    bool halted = false;
    __asm__ volatile("cli" ::: "memory");
    if (used_empty(q)) {
        __asm__ volatile("sti; hlt" ::: "memory");
        halted = true;
    }
    __asm__ volatile("sti" ::: "memory");
    return halted;
}

/* Every slot holds the same frame: the guest's per-frame work is only the
 * ring (the host side is what is being measured). */
static void fill_tx_slots(const struct phase *p) {
    for (uint16_t i = 0; i < tx.size; i++) {
        uint8_t *slot = tx_buffers[i];
        memset(slot, 0, NET_HDR_BYTES); /* no offloads */
        uint8_t *frame = slot + NET_HDR_BYTES;
        memset(frame, 0xFF, 6);
        memcpy(frame + 6, mac, 6);
        frame[12] = BENCH_ETHERTYPE >> 8;
        frame[13] = BENCH_ETHERTYPE & 0xFF;
        frame[14] = p->tag;
        for (unsigned b = 15; b < p->frame_bytes; b++) frame[b] = (uint8_t)(b * 7);
    }
}

static void run_tx(const struct phase *p, unsigned frames) {
    fill_tx_slots(p);
    uint16_t free_ids[VIRTQ_MAX_SIZE];
    bool busy[VIRTQ_MAX_SIZE] = {false};
    unsigned free_count = tx.size, sent = 0, completed = 0, halts = 0, bad = 0;
    for (uint16_t i = 0; i < tx.size; i++) free_ids[i] = i;
    printf("# bench: %s start\n", p->name);
    while (completed < frames) {
        struct virtq_used_elem e;
        while (virtq_take_used(&tx, &e)) {
            if (e.id >= tx.size || !busy[e.id]) {
                bad++;
                continue;
            }
            busy[e.id] = false;
            free_ids[free_count++] = (uint16_t)e.id;
            completed++;
        }
        unsigned added = 0;
        while (sent < frames && free_count) {
            uint16_t id = free_ids[--free_count];
            tx.desc[id] = (struct virtq_desc){.addr = (uint32_t)(uintptr_t)tx_buffers[id],
                                              .len = (uint32_t)(NET_HDR_BYTES + p->frame_bytes)};
            busy[id] = true;
            virtq_publish(&tx, id);
            sent++;
            added++;
        }
        if (added)
            notify_unless_suppressed(&tx);
        else if (completed < frames && bad == 0)
            halts += halt_unless_used(&tx);
        if (bad) break; /* the device broke the ring: no completion to wait for */
    }
    printf("# bench: %s end frames=%u other=0 halts=%u bad=%u\n", p->name, completed, halts, bad);
    tap_check(completed == frames && bad == 0, p->frame_bytes == 64 ? "tx64: every frame completed"
                                                                    : "tx1500: every frame completed",
              "%u of %u completed, %u bad used elements", completed, frames, bad);
}

static void run_rx(const struct phase *p, unsigned frames) {
    unsigned counted = 0, other = 0, halts = 0, bad = 0;
    printf("# bench: %s ready\n", p->name);
    while (counted < frames && bad == 0) {
        unsigned taken = 0;
        struct virtq_used_elem e;
        while (counted < frames && virtq_take_used(&rx, &e)) {
            if (e.id >= rx.size || e.len < NET_HDR_BYTES + ETH_HEADER + 1 || e.len > RX_BUFFER_BYTES) {
                bad++; /* the buffer cannot be trusted: not given back */
                break;
            }
            const uint8_t *frame = rx_buffers[e.id] + NET_HDR_BYTES;
            bool ours = frame[12] == BENCH_ETHERTYPE >> 8 && frame[13] == (BENCH_ETHERTYPE & 0xFF) &&
                        frame[14] == p->tag;
            if (ours && counted++ == 0) printf("# bench: %s start\n", p->name);
            if (!ours) other++;
            virtq_publish(&rx, (uint16_t)e.id); /* its descriptor is unchanged */
            taken++;
        }
        if (taken)
            notify_unless_suppressed(&rx);
        else if (bad == 0)
            halts += halt_unless_used(&rx);
    }
    printf("# bench: %s end frames=%u other=%u halts=%u bad=%u\n", p->name, counted, other, halts, bad);
    tap_check(counted == frames && bad == 0, p->frame_bytes == 64 ? "rx64: every frame counted"
                                                                  : "rx1500: every frame counted",
              "%u of %u counted, %u bad used elements", counted, frames, bad);
}

/* Initialisation (3.1.1, 5.1.5) with VERSION_1 and MAC; every receive
 * buffer posted before DRIVER_OK. */
static bool initialise(void) {
    if (!virtio_reset(&device)) return tap_check(false, "reset", "status %02x", virtio_get_status(&device));
    virtio_set_status(&device, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_set_status(&device, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t wanted = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MAC);
    uint64_t features = virtio_device_features(&device) & wanted;
    virtio_set_driver_features(&device, features);
    uint8_t ready = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    virtio_set_status(&device, ready);
    char why[120] = "";
    bool ok = features == wanted && (virtio_get_status(&device) & VIRTIO_STATUS_FEATURES_OK);
    if (!ok) snprintf(why, sizeof why, "features %08x, status %02x", (unsigned)features, virtio_get_status(&device));
    for (int i = 0; i < 6; i++) mac[i] = virtio_config_read8(&device, (uint32_t)i);
    ok = ok && virtio_set_config_vector(&device, MSIX_CONFIG_ENTRY) == MSIX_CONFIG_ENTRY &&
         virtio_queue_setup_rings(&device, &rx, &rx_rings, 0, MSIX_RX_ENTRY, why, sizeof why) &&
         virtio_queue_setup_rings(&device, &tx, &tx_rings, 1, shared_vector ? MSIX_RX_ENTRY : MSIX_TX_ENTRY, why,
                                  sizeof why);
    if (ok) {
        for (uint16_t id = 0; id < rx.size; id++) {
            rx.desc[id] = (struct virtq_desc){
                .addr = (uint32_t)(uintptr_t)rx_buffers[id], .len = RX_BUFFER_BYTES, .flags = VIRTQ_DESC_F_WRITE};
            virtq_publish(&rx, id);
        }
        virtio_set_status(&device, ready | VIRTIO_STATUS_DRIVER_OK);
        virtq_notify(&rx);
        uint8_t status = virtio_get_status(&device);
        ok = (status & VIRTIO_STATUS_DRIVER_OK) && !(status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
        if (!ok) snprintf(why, sizeof why, "status %02x after DRIVER_OK", status);
    }
    if (ok)
        tap_diag("mac %02x:%02x:%02x:%02x:%02x:%02x, rx %u x %u bytes, tx %u, MSI-X %s", mac[0], mac[1], mac[2],
                 mac[3], mac[4], mac[5], rx.size, RX_BUFFER_BYTES, tx.size,
                 shared_vector ? "one vector for both queues" : "a vector per queue");
    return tap_check(ok, "device initialised (VERSION_1 + MAC, two queues on MSI-X, DRIVER_OK)", "%s", why);
}

void suite_virtio_net_bench(void) {
    rx_interrupts = tx_interrupts = config_interrupts = 0;
    if (!tap_check(virtio_pci_find(VIRTIO_PCI_MODERN_DEVICE_BASE + VIRTIO_ID_NET, &device),
                   "virtio-net 1af4:1041 on bus 0", "not found"))
        return;
    char why[160] = "";
    bool mapped = tap_check(virtio_pci_map(&device, why, sizeof why), "virtio capabilities inside their BARs", "%s",
                            why);
    if (mapped && tap_check(device.msix_cap && device.msix_entries >= 2 && device.msix_table,
                            "MSI-X capability with 2+ entries", "cap %02x, %u entries", device.msix_cap,
                            (unsigned)device.msix_entries)) {
        shared_vector = device.msix_entries < 3;
        interrupt_set_handler(RX_VECTOR, rx_handler);
        interrupt_set_handler(TX_VECTOR, tx_handler);
        interrupt_set_handler(CONFIG_VECTOR, config_handler);
        msix_program_entry(&device, MSIX_CONFIG_ENTRY, CONFIG_VECTOR);
        msix_program_entry(&device, MSIX_RX_ENTRY, RX_VECTOR);
        if (!shared_vector) msix_program_entry(&device, MSIX_TX_ENTRY, TX_VECTOR);
        msix_set_enabled(&device, true);
        if (initialise()) {
            unsigned frames = parse_frames();
            tap_diag("%u frames per phase", frames);
            for (unsigned i = 0; i < sizeof phases / sizeof phases[0]; i++) {
                if (phases[i].transmit)
                    run_tx(&phases[i], frames);
                else
                    run_rx(&phases[i], frames);
            }
            tap_diag("interrupts: %u rx, %u tx, %u config", rx_interrupts, tx_interrupts, config_interrupts);
            tap_check(config_interrupts == 0, "no config interrupt", "%u", config_interrupts);
        }
        tap_check(virtio_reset(&device), "reset at the end", "status %02x", virtio_get_status(&device));
        msix_set_enabled(&device, false);
        interrupt_set_handler(RX_VECTOR, NULL);
        interrupt_set_handler(TX_VECTOR, NULL);
        interrupt_set_handler(CONFIG_VECTOR, NULL);
    }
    virtio_pci_unmap(&device);
}
