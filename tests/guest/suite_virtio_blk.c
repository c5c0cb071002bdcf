/* virtio-blk suite: a virtio 1.2 block device (5.2) on the modern PCI
 * transport (virtio_pci.c), with its completions signalled by MSI-X or by
 * INTx through the IOAPIC. Every request waits for both the used ring and
 * the interrupt, so a run in each mode checks the VMM's interrupt path.
 *
 * Command line: virtio-irq=msix|intx (default msix), virtio-ro=1 (expect a
 * read-only disk), virtio-serial=STR (expected GET_ID answer),
 * virtio-sectors=N (expected capacity). The sectors written and the bytes
 * they hold are fixed (README.md, "virtio-blk disk layout") so that the host
 * can check the image afterwards. */
#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "rtc_clock.h"
#include "suites.h"
#include "tap.h"
#include "virtio_pci.h"

#define VIRTIO_ID_BLOCK 2
#define SECTOR 512u

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define BIT(n) (1ull << (n))

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_UNKNOWN 0xFF /* no request type has this number */
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20

/* Device configuration offsets (5.2.4). */
#define BLK_CONFIG_CAPACITY 0
#define BLK_CONFIG_MAX_DISCARD_SECTORS 36
#define BLK_CONFIG_MAX_WRITE_ZEROES_SECTORS 48

/* The disk layout (README.md): pattern sectors, and two ranges that get
 * the pattern and are then zeroed by DISCARD and WRITE_ZEROES. */
#define MULTI_FIRST 8
#define MULTI_COUNT 4
#define DISCARD_FIRST 64
#define DISCARD_COUNT 16
#define ZEROES_FIRST 96
#define ZEROES_COUNT 8
#define MIN_CAPACITY 256 /* keeps the middle sector above the ranges */

#define QUEUE_VECTOR PCI_VECTOR_BASE        /* MSI-X table entry 1 */
#define CONFIG_VECTOR (PCI_VECTOR_BASE + 2) /* MSI-X table entry 0 */
#define INTX_VECTOR (PCI_VECTOR_BASE + 1)
#define MSIX_CONFIG_ENTRY 0
#define MSIX_QUEUE_ENTRY 1
#define REQUEST_TIMEOUT_SECONDS 5

struct blk_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};
struct blk_discard_range {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};

static struct virtio_pci_device device;
static struct virtq queue;
static bool use_msix;
static volatile unsigned queue_interrupts, config_interrupts, empty_isr_interrupts;
static unsigned requests_sent, requests_without_interrupt;
/* A request that never completed still owns descriptors 0..n-1: nothing
 * more is sent after it (each would only wait out its own timeout). */
static bool queue_stuck;

static struct blk_header header __attribute__((aligned(16)));
static volatile uint8_t status_byte;
static uint8_t buffer[DISCARD_COUNT * SECTOR] __attribute__((aligned(64)));
static uint8_t expected[DISCARD_COUNT * SECTOR] __attribute__((aligned(64)));

/* Byte i of pattern sector N: the sector number little-endian in bytes
 * 0-3, then (13 N + 7 i + 0x5A) mod 256. */
static uint8_t pattern_byte(uint64_t sector, uint32_t i) {
    if (i < 4) return (uint8_t)(sector >> (8 * i));
    return (uint8_t)(sector * 13 + i * 7 + 0x5A);
}

static void fill_pattern(uint8_t *out, uint64_t first_sector, uint32_t sectors) {
    for (uint32_t s = 0; s < sectors; s++)
        for (uint32_t i = 0; i < SECTOR; i++) out[s * SECTOR + i] = pattern_byte(first_sector + s, i);
}

static void msix_queue_handler(void) { queue_interrupts++; }
static void msix_config_handler(void) { config_interrupts++; }

/* Level-triggered: reading the ISR clears it and deasserts the line before
 * the EOI (4.1.4.5), or the IOAPIC would deliver it again at once. An
 * interrupt with nothing in the ISR is legal on a shared line (QEMU gives
 * one after most completions): counted, not failed. A line that never
 * deasserts would starve the suite, so a storm masks the pin and fails. */
#define INTX_STORM 1000
static volatile unsigned isr_not_cleared;
static volatile bool intx_storm;
static void intx_handler(void) {
    uint8_t isr = virtio_read_isr(&device);
    if (isr & 1) queue_interrupts++;
    if (isr & 2) config_interrupts++;
    if (isr && virtio_read_isr(&device)) isr_not_cleared++;
    if (!(isr & 3) && ++empty_isr_interrupts > INTX_STORM) {
        intx_storm = true;
        ioapic_mask_gsi(device.interrupt_line);
    }
}

struct completion {
    bool sent;          /* false: not submitted (queue stuck, or chain too long) */
    bool used;          /* the used ring advanced */
    bool interrupted;   /* a queue interrupt arrived */
    uint8_t status;
    struct virtq_used_elem elem;
};

/* Sends one request (header, data buffers, status byte) and waits up to
 * REQUEST_TIMEOUT_SECONDS RTC seconds for the used element and the
 * interrupt. */
static struct completion blk_request(uint32_t type, uint64_t sector, const struct virtq_buffer *data, unsigned count) {
    struct virtq_buffer chain[8];
    header = (struct blk_header){.type = type, .sector = sector};
    status_byte = 0xEE;
    chain[0] = (struct virtq_buffer){&header, sizeof header, false};
    for (unsigned i = 0; i < count && i < 6; i++) chain[1 + i] = data[i];
    unsigned length = 1 + (count < 6 ? count : 6);
    chain[length++] = (struct virtq_buffer){(const void *)&status_byte, 1, true};

    struct completion c = {0};
    unsigned interrupts_before = queue_interrupts;
    if (queue_stuck || !virtq_submit(&queue, chain, length)) return c;
    c.sent = true;
    ++requests_sent;
    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, REQUEST_TIMEOUT_SECONDS);
    for (;;) {
        if (!c.used) c.used = virtq_take_used(&queue, &c.elem);
        c.interrupted = queue_interrupts != interrupts_before;
        if ((c.used && c.interrupted) || rtc_deadline_expired(&deadline)) break;
    }
    c.status = status_byte;
    if (!c.interrupted) ++requests_without_interrupt;
    if (!c.used) queue_stuck = true;
    return c;
}

/* A request finished as wanted: used element for descriptor 0, the status
 * expected, an interrupt. Explains a failure in `why`. */
static bool completed_with(const struct completion *c, uint8_t wanted, char *why, size_t why_size) {
    if (!c->sent) {
        snprintf(why, why_size, "not sent: %s", queue_stuck ? "an earlier request never completed"
                                                            : "chain longer than the queue");
        return false;
    }
    if (!c->used) {
        snprintf(why, why_size, "no used element within %u s (interrupt %s)", REQUEST_TIMEOUT_SECONDS,
                 c->interrupted ? "seen" : "not seen");
        return false;
    }
    if (c->elem.id != 0 || c->status != wanted || !c->interrupted) {
        snprintf(why, why_size, "used id %u len %u, status %u (want %u), interrupt %s", c->elem.id, c->elem.len,
                 c->status, wanted, c->interrupted ? "seen" : "NOT seen");
        return false;
    }
    return true;
}

static struct completion blk_io(uint32_t type, uint64_t sector, void *data, uint32_t bytes) {
    bool device_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    struct virtq_buffer one = {data, bytes, device_writes};
    return blk_request(type, sector, &one, 1);
}

/* ---- set-up ---------------------------------------------------------- */

/* MSI-X: config changes on entry 0, the queue on entry 1; or INTx. */
static const struct virtio_msix_route msix_routes[] = {
    {MSIX_CONFIG_ENTRY, CONFIG_VECTOR, msix_config_handler},
    {MSIX_QUEUE_ENTRY, QUEUE_VECTOR, msix_queue_handler},
};

static struct virtio_interrupts interrupts(void) {
    return (struct virtio_interrupts){.use_msix = use_msix,
                                      .routes = msix_routes,
                                      .route_count = sizeof msix_routes / sizeof msix_routes[0],
                                      .intx_vector = INTX_VECTOR,
                                      .intx_handler = intx_handler};
}

/* Initialisation (3.1.1): reset, ACKNOWLEDGE, DRIVER, features,
 * FEATURES_OK, queue set-up, DRIVER_OK. Returns the negotiated features,
 * or 0 when the device cannot be driven. */
static uint64_t initialise(bool expect_ro) {
    bool reset = virtio_reset(&device);
    tap_check(reset, "reset: device status reads 0", "status %02x", virtio_get_status(&device));
    if (!reset) return 0;
    uint64_t wanted = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_RO) | BIT(VIRTIO_BLK_F_FLUSH) |
                      BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    uint64_t offered, features;
    uint8_t status = virtio_negotiate_features(&device, wanted, &offered, &features);
    bool negotiated = (offered & BIT(VIRTIO_F_VERSION_1)) && (status & VIRTIO_STATUS_FEATURES_OK);
    tap_check(negotiated, "VERSION_1 offered and FEATURES_OK accepted", "offered %08x%08x, status %02x",
              (unsigned)(offered >> 32), (unsigned)offered, status);
    if (!negotiated) return 0;
    bool ro = offered & BIT(VIRTIO_BLK_F_RO);
    tap_check(ro == expect_ro, expect_ro ? "RO feature offered (read-only disk)" : "RO feature not offered",
              "RO %s", ro ? "offered" : "not offered");

    char why[120] = "";
    uint16_t config_vector = virtio_set_config_vector(&device, use_msix ? MSIX_CONFIG_ENTRY : VIRTIO_MSI_NO_VECTOR);
    bool queue_ok = virtio_queue_setup(&device, &queue, 0, use_msix ? MSIX_QUEUE_ENTRY : VIRTIO_MSI_NO_VECTOR, why,
                                       sizeof why);
    if (queue_ok && config_vector != (use_msix ? MSIX_CONFIG_ENTRY : VIRTIO_MSI_NO_VECTOR)) {
        queue_ok = false;
        snprintf(why, sizeof why, "config_msix_vector read back %x", config_vector);
    }
    tap_check(queue_ok, "queue 0 set up (size, vectors, enable read back)", "%s", why);
    if (!queue_ok) return 0;
    tap_diag("queue 0: %u entries, notify at %08x", queue.size, (unsigned)queue.notify_address);

    virtio_set_status(&device, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                                   VIRTIO_STATUS_DRIVER_OK);
    status = virtio_get_status(&device);
    bool live = (status & VIRTIO_STATUS_DRIVER_OK) && !(status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
    tap_check(live, "DRIVER_OK set, no NEEDS_RESET or FAILED", "status %02x", status);
    return live ? features : 0;
}

/* ---- requests -------------------------------------------------------- */

/* Writes the pattern to `count` sectors from `first` in one request and
 * reads them back (unless read-only: then only reads the host's copy). */
static void check_pattern_sectors(const char *name, uint64_t first, uint32_t count, bool read_only) {
    char why[160] = "";
    fill_pattern(expected, first, count);
    bool ok = true;
    if (!read_only) {
        memcpy(buffer, expected, count * SECTOR);
        struct completion w = blk_io(VIRTIO_BLK_T_OUT, first, buffer, count * SECTOR);
        ok = completed_with(&w, VIRTIO_BLK_S_OK, why, sizeof why);
    }
    if (ok) {
        memset(buffer, 0, count * SECTOR);
        struct completion r = blk_io(VIRTIO_BLK_T_IN, first, buffer, count * SECTOR);
        ok = completed_with(&r, VIRTIO_BLK_S_OK, why, sizeof why);
        if (ok && memcmp(buffer, expected, count * SECTOR)) {
            ok = false;
            snprintf(why, sizeof why, "data differs (first bytes %02x %02x %02x %02x)", buffer[0], buffer[1],
                     buffer[2], buffer[3]);
        }
    }
    tap_check(ok, name, "%s", why);
}

/* Write: header, two 1 KiB data buffers, status (4 descriptors); read:
 * header, 512 + 1024 + 512 bytes, status (5 descriptors). */
static void check_multi_descriptor(bool read_only) {
    const char *name =
        read_only ? "read across 3 data descriptors" : "write across 2 and read across 3 data descriptors";
    if (queue.size < 5) {
        tap_skip(name, "queue of %u entries, 5 needed", queue.size);
        return;
    }
    char why[160] = "";
    fill_pattern(expected, MULTI_FIRST, MULTI_COUNT);
    bool ok = true;
    if (!read_only) {
        memcpy(buffer, expected, MULTI_COUNT * SECTOR);
        struct virtq_buffer out[2] = {{buffer, 2 * SECTOR, false}, {buffer + 2 * SECTOR, 2 * SECTOR, false}};
        struct completion w = blk_request(VIRTIO_BLK_T_OUT, MULTI_FIRST, out, 2);
        ok = completed_with(&w, VIRTIO_BLK_S_OK, why, sizeof why);
    }
    if (ok) {
        memset(buffer, 0, MULTI_COUNT * SECTOR);
        struct virtq_buffer in[3] = {
            {buffer, SECTOR, true}, {buffer + SECTOR, 2 * SECTOR, true}, {buffer + 3 * SECTOR, SECTOR, true}};
        struct completion r = blk_request(VIRTIO_BLK_T_IN, MULTI_FIRST, in, 3);
        ok = completed_with(&r, VIRTIO_BLK_S_OK, why, sizeof why);
        if (ok && memcmp(buffer, expected, MULTI_COUNT * SECTOR)) {
            ok = false;
            snprintf(why, sizeof why, "data differs");
        }
    }
    tap_check(ok, name, "%s", why);
}

static void check_flush(uint64_t features) {
    if (!(features & BIT(VIRTIO_BLK_F_FLUSH))) {
        tap_skip("FLUSH returns OK", "VIRTIO_BLK_F_FLUSH not offered");
        return;
    }
    char why[160] = "";
    struct completion c = blk_request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
    tap_check(completed_with(&c, VIRTIO_BLK_S_OK, why, sizeof why), "FLUSH returns OK", "%s", why);
}

static void check_get_id(void) {
    char why[160] = "";
    char serial[64];
    memset(buffer, 0, VIRTIO_BLK_ID_BYTES + 1);
    struct completion c = blk_io(VIRTIO_BLK_T_GET_ID, 0, buffer, VIRTIO_BLK_ID_BYTES);
    bool ok = completed_with(&c, VIRTIO_BLK_S_OK, why, sizeof why);
    char id[VIRTIO_BLK_ID_BYTES + 1];
    memcpy(id, buffer, VIRTIO_BLK_ID_BYTES);
    id[VIRTIO_BLK_ID_BYTES] = '\0'; /* 20 bytes, NUL-padded only when shorter (5.2.6) */
    if (ok) tap_diag("GET_ID '%s'", id);
    if (ok && cmdline_value("virtio-serial", serial, sizeof serial)) {
        size_t n = strlen(serial) < VIRTIO_BLK_ID_BYTES ? strlen(serial) : VIRTIO_BLK_ID_BYTES;
        bool same = !strncmp(id, serial, n) && (n == VIRTIO_BLK_ID_BYTES || id[n] == '\0');
        if (!same) snprintf(why, sizeof why, "got '%s', want '%s'", id, serial);
        ok = same;
    }
    tap_check(ok, "GET_ID returns the serial", "%s", why);
}

/* Writes the pattern over a range, zeroes it with `type` (a one-segment
 * discard/write-zeroes payload, 5.2.6), reads back zeros. */
static void check_zeroing(const char *name, uint32_t type, uint32_t feature, uint64_t features, uint32_t max_sectors,
                          uint64_t first, uint32_t count, bool read_only) {
    if (read_only) {
        tap_skip(name, "read-only disk");
        return;
    }
    if (!(features & BIT(feature))) {
        tap_skip(name, "feature %u not offered", feature);
        return;
    }
    char why[160] = "";
    bool ok = max_sectors >= count;
    if (!ok) snprintf(why, sizeof why, "device allows %u sectors per request, need %u", max_sectors, count);
    if (ok) {
        fill_pattern(buffer, first, count);
        struct completion w = blk_io(VIRTIO_BLK_T_OUT, first, buffer, count * SECTOR);
        ok = completed_with(&w, VIRTIO_BLK_S_OK, why, sizeof why);
    }
    static struct blk_discard_range range;
    if (ok) {
        range = (struct blk_discard_range){.sector = first, .num_sectors = count, .flags = 0};
        struct completion z = blk_io(type, 0, &range, sizeof range);
        ok = completed_with(&z, VIRTIO_BLK_S_OK, why, sizeof why);
    }
    if (ok) {
        memset(buffer, 0xA5, count * SECTOR);
        memset(expected, 0, count * SECTOR);
        struct completion r = blk_io(VIRTIO_BLK_T_IN, first, buffer, count * SECTOR);
        ok = completed_with(&r, VIRTIO_BLK_S_OK, why, sizeof why);
        if (ok && memcmp(buffer, expected, count * SECTOR)) {
            ok = false;
            snprintf(why, sizeof why, "range does not read back as zeros");
        }
    }
    if (ok) tap_diag("zeroed sectors %u-%u", (unsigned)first, (unsigned)(first + count - 1));
    tap_check(ok, name, "%s", why);
}

static void check_errors(uint64_t capacity, bool read_only) {
    char why[160] = "";
    struct completion c = blk_io(VIRTIO_BLK_T_IN, capacity, buffer, SECTOR);
    tap_check(completed_with(&c, VIRTIO_BLK_S_IOERR, why, sizeof why), "read past capacity returns IOERR", "%s", why);
    c = blk_request(VIRTIO_BLK_T_UNKNOWN, 0, NULL, 0);
    tap_check(completed_with(&c, VIRTIO_BLK_S_UNSUPP, why, sizeof why), "unknown request type returns UNSUPP", "%s",
              why);
    if (read_only) {
        fill_pattern(buffer, 1, 1);
        c = blk_io(VIRTIO_BLK_T_OUT, 1, buffer, SECTOR);
        tap_check(completed_with(&c, VIRTIO_BLK_S_IOERR, why, sizeof why), "write to a read-only disk returns IOERR",
                  "%s", why);
    }
}

static uint64_t check_capacity(void) {
    uint64_t capacity = virtio_config_read64(&device, BLK_CONFIG_CAPACITY);
    char wanted_text[24];
    uint64_t wanted = 0;
    bool have_wanted = cmdline_value("virtio-sectors", wanted_text, sizeof wanted_text);
    for (const char *p = wanted_text; have_wanted && *p >= '0' && *p <= '9'; p++)
        wanted = wanted * 10 + (uint64_t)(*p - '0');
    tap_diag("capacity %u sectors", (unsigned)capacity);
    bool ok = capacity >= MIN_CAPACITY && capacity >> 32 == 0 && (!have_wanted || capacity == wanted);
    tap_check(ok, "capacity read from the device configuration", "%u sectors (want %s, at least %u)",
              (unsigned)capacity, have_wanted ? wanted_text : "any", MIN_CAPACITY);
    return ok ? capacity : 0;
}

static void run_requests(uint64_t features, uint64_t capacity, bool read_only) {
    check_pattern_sectors(read_only ? "read first sector (host pattern)" : "write and read back first sector", 0, 1,
                          read_only);
    check_pattern_sectors(read_only ? "read middle sector (host pattern)" : "write and read back middle sector",
                          capacity / 2, 1, read_only);
    check_pattern_sectors(read_only ? "read last sector (host pattern)" : "write and read back last sector",
                          capacity - 1, 1, read_only);
    check_multi_descriptor(read_only);
    check_flush(features);
    check_get_id();
    uint32_t max_discard = virtio_config_read32(&device, BLK_CONFIG_MAX_DISCARD_SECTORS);
    uint32_t max_zeroes = virtio_config_read32(&device, BLK_CONFIG_MAX_WRITE_ZEROES_SECTORS);
    check_zeroing("DISCARD, then the range reads zeros", VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_F_DISCARD, features,
                  max_discard, DISCARD_FIRST, DISCARD_COUNT, read_only);
    check_zeroing("WRITE_ZEROES, then the range reads zeros", VIRTIO_BLK_T_WRITE_ZEROES, VIRTIO_BLK_F_WRITE_ZEROES,
                  features, max_zeroes, ZEROES_FIRST, ZEROES_COUNT, read_only);
    check_errors(capacity, read_only);
    /* Settle the data on the host before the runner looks at the image. */
    if (!read_only && (features & BIT(VIRTIO_BLK_F_FLUSH))) (void)blk_request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
    if (!use_msix)
        tap_check(!intx_storm && isr_not_cleared == 0, "INTx: reading the ISR clears it and deasserts the line",
                  "%u ISR reads did not clear it, %u interrupts with an empty ISR%s", isr_not_cleared,
                  empty_isr_interrupts, intx_storm ? " (storm: pin masked)" : "");
    tap_check(requests_without_interrupt == 0 && config_interrupts == 0,
              use_msix ? "every request raised its MSI-X message" : "every request raised INTx",
              "%u of %u requests without an interrupt, %u config interrupts", requests_without_interrupt,
              requests_sent, config_interrupts);
    tap_diag("%u requests, %u queue interrupts, %u with an empty ISR", requests_sent, queue_interrupts,
             empty_isr_interrupts);
}

static void print_device(void) {
    tap_diag("%02x.%x, interrupt line %u, mode %s", (unsigned)device.dev, (unsigned)device.fn, device.interrupt_line,
             use_msix ? "msix" : "intx");
    for (unsigned bar = 0; bar < 6; bar++) {
        const struct pci_bar *b = &device.bars[bar];
        const char *kind = b->io ? "io" : b->wide ? "mem64" : "mem32";
        if (b->implemented && b->address >> 32)
            tap_diag("BAR%u %s at %x%08x size %x", bar, kind, (unsigned)(b->address >> 32), (unsigned)b->address,
                     (unsigned)b->size);
        else if (b->implemented)
            tap_diag("BAR%u %s at %08x size %x", bar, kind, (unsigned)b->address, (unsigned)b->size);
    }
    const struct virtio_region *regions[4] = {&device.common, &device.notify, &device.isr, &device.device};
    static const char *const names[4] = {"common", "notify", "isr", "device"};
    for (int i = 0; i < 4; i++)
        tap_diag("%s cfg: cap %02x BAR%u +%x length %x", names[i], regions[i]->cap, regions[i]->bar,
                 regions[i]->offset, regions[i]->length);
    tap_diag("notify_off_multiplier %u, MSI-X cap %02x with %u entries", device.notify_off_multiplier,
             device.msix_cap, (unsigned)device.msix_entries);
}

void suite_virtio_blk(void) {
    char mode[16] = "msix";
    cmdline_value("virtio-irq", mode, sizeof mode);
    use_msix = strncmp(mode, "intx", 5) != 0;
    char ro[4] = "0";
    cmdline_value("virtio-ro", ro, sizeof ro);
    bool read_only = ro[0] == '1';
    queue_interrupts = config_interrupts = empty_isr_interrupts = isr_not_cleared = 0;
    intx_storm = false;
    requests_sent = requests_without_interrupt = 0;
    queue_stuck = false;

    uint16_t pci_id = VIRTIO_PCI_MODERN_DEVICE_BASE + VIRTIO_ID_BLOCK;
    if (!tap_check(virtio_pci_find(pci_id, &device), "virtio-blk 1af4:1042 on bus 0", "not found")) return;
    char why[160] = "";
    bool mapped = virtio_pci_map(&device, why, sizeof why);
    print_device();
    tap_check(mapped, "common/notify/ISR/device capabilities inside their BARs", "%s", why);
    const struct virtio_interrupts irq = interrupts();
    if (mapped && virtio_check_interrupt_resources(&device, &irq)) {
        virtio_connect_interrupts(&device, &irq);
        uint64_t features = initialise(read_only);
        uint64_t capacity = features ? check_capacity() : 0;
        if (capacity) run_requests(features, capacity, read_only);
        bool reset = virtio_reset(&device);
        tap_check(reset, "reset at the end: device status reads 0", "status %02x", virtio_get_status(&device));
        virtio_disconnect_interrupts(&device, &irq);
    }
    virtio_pci_unmap(&device);
}
