/* virtio-blk-bench suite: the end-to-end half of the disk benchmark
 * (tools/bench/disk_bench.py). Drives the first virtio-blk device (virtio
 * 1.2, 5.2) on the modern PCI transport like a simple driver would: one
 * 4 KiB request in flight at a time, completion by MSI-X, the CPU halted
 * while it waits. A read phase, then a write phase, over 4 KiB blocks
 * spread across the whole disk.
 *
 * The host times each phase from the marker lines
 *     # bench: <phase> start
 *     # bench: <phase> end requests=N errors=E cycles=HEX doorbell_cycles=HEX
 * as they arrive on the serial port. `cycles` is the TSC over the phase,
 * `doorbell_cycles` the part of it between the notify write (the doorbell)
 * and seeing both the used element and the interrupt: the host scales the
 * phase's wall time by their ratio to get the doorbell->completion time.
 *
 * Command line: bench-requests=N (per phase, default 2000).
 * The data written is not checked: this is a benchmark, the virtio-blk suite
 * is the functional test. */
#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "rtc_clock.h"
#include "suites.h"
#include "tap.h"
#include "virtio_pci.h"

#define VIRTIO_ID_BLOCK 2
#define SECTOR 512u
#define BLOCK 4096u
#define SECTORS_PER_BLOCK (BLOCK / SECTOR)
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_S_OK 0
#define BLK_CONFIG_CAPACITY 0

#define DEFAULT_REQUESTS 2000u
#define MAX_REQUESTS 1000000u
#define QUEUE_VECTOR PCI_VECTOR_BASE
#define CONFIG_VECTOR (PCI_VECTOR_BASE + 2)
#define MSIX_CONFIG_ENTRY 0
#define MSIX_QUEUE_ENTRY 1
#define WARMUP_TIMEOUT_SECONDS 5

struct blk_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

static struct virtio_pci_device device;
static struct virtq queue;
static volatile unsigned queue_interrupts, config_interrupts;
static struct blk_header header __attribute__((aligned(16)));
static volatile uint8_t status_byte;
static uint8_t data[BLOCK] __attribute__((aligned(BLOCK)));

static void queue_handler(void) { queue_interrupts++; }
static void config_handler(void) { config_interrupts++; }

static uint64_t rdtsc(void) {
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return (uint64_t)high << 32 | low;
}

static unsigned parse_requests(void) {
    char text[16];
    if (!cmdline_value("bench-requests", text, sizeof text)) return DEFAULT_REQUESTS;
    unsigned n = 0;
    for (const char *p = text; *p >= '0' && *p <= '9' && n <= MAX_REQUESTS; p++) n = n * 10 + (unsigned)(*p - '0');
    return n == 0 ? DEFAULT_REQUESTS : n > MAX_REQUESTS ? MAX_REQUESTS : n;
}

/* Makes one request available (header, the 4 KiB block, status byte). */
static bool make_request(uint32_t type, uint64_t sector) {
    header = (struct blk_header){.type = type, .sector = sector};
    status_byte = 0xEE;
    struct virtq_buffer chain[3] = {
        {&header, sizeof header, false},
        {data, BLOCK, type == VIRTIO_BLK_T_IN},
        {(const void *)&status_byte, 1, true},
    };
    return virtq_make_available(&queue, chain, 3);
}

/* Rings the doorbell and halts until both the used element and the MSI-X
 * interrupt are in. Interrupts are off while deciding to halt and "sti;
 * hlt" opens them only for the halt itself, so an interrupt cannot slip in
 * between the check and the HLT. Waits forever if the device never
 * interrupts: the warm-up request (spin_request) proves it does first, and
 * the host runner has its own timeout. Returns the TSC cycles spent. */
static uint64_t notify_and_halt(struct virtq_used_elem *elem) {
    unsigned before = queue_interrupts;
    bool used = false;
    uint64_t start = rdtsc();
    virtq_notify(&queue);
    for (;;) {
        __asm__ volatile("cli" ::: "memory");
        if (!used) used = virtq_take_used(&queue, elem);
        bool interrupted = queue_interrupts != before;
        if (used && interrupted) break;
        if (interrupted)
            __asm__ volatile("sti" ::: "memory"); /* used ring not seen yet: look again */
        else
            __asm__ volatile("sti; hlt" ::: "memory");
    }
    __asm__ volatile("sti" ::: "memory");
    return rdtsc() - start;
}

/* One request waited for by polling with an RTC timeout: proves the device
 * completes and interrupts before the phases rely on HLT. */
static bool spin_request(uint32_t type, uint64_t sector, char *why, size_t why_size) {
    unsigned before = queue_interrupts;
    if (!make_request(type, sector)) {
        snprintf(why, why_size, "queue of %u entries, 3 needed", queue.size);
        return false;
    }
    virtq_notify(&queue);
    struct virtq_used_elem elem;
    bool used = false;
    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, WARMUP_TIMEOUT_SECONDS);
    while (!(used && queue_interrupts != before) && !rtc_deadline_expired(&deadline))
        if (!used) used = virtq_take_used(&queue, &elem);
    bool ok = used && queue_interrupts != before && status_byte == VIRTIO_BLK_S_OK;
    if (!ok)
        snprintf(why, why_size, "used %s, interrupt %s, status %u", used ? "yes" : "no",
                 queue_interrupts != before ? "yes" : "no", status_byte);
    return ok;
}

/* Block i of a phase: a multiplicative hash (Knuth's 2654435761) spreads
 * consecutive requests over the disk instead of walking it in order. */
static uint64_t block_sector(unsigned i, uint32_t blocks) {
    return (uint64_t)(((uint64_t)i * 2654435761u) % blocks) * SECTORS_PER_BLOCK;
}

static void run_phase(const char *phase, uint32_t type, unsigned requests, uint32_t blocks) {
    unsigned errors = 0;
    uint64_t doorbell_cycles = 0;
    printf("# bench: %s start\n", phase);
    uint64_t start = rdtsc();
    for (unsigned i = 0; i < requests; i++) {
        make_request(type, block_sector(i, blocks));
        struct virtq_used_elem elem;
        doorbell_cycles += notify_and_halt(&elem); /* returns only after the interrupt */
        if (status_byte != VIRTIO_BLK_S_OK || elem.id != 0) errors++;
    }
    uint64_t cycles = rdtsc() - start;
    printf("# bench: %s end requests=%u errors=%u cycles=%x%08x doorbell_cycles=%x%08x\n", phase, requests, errors,
           (unsigned)(cycles >> 32), (unsigned)cycles, (unsigned)(doorbell_cycles >> 32), (unsigned)doorbell_cycles);
    tap_check(errors == 0, type == VIRTIO_BLK_T_IN ? "read phase: every request OK" : "write phase: every request OK",
              "%u of %u requests failed", errors, requests);
}

/* Initialisation (3.1.1) accepting VERSION_1, RO and FLUSH; queue 0 on
 * MSI-X entry 1, config changes on entry 0. FLUSH is accepted as Linux's
 * driver does: a driver that does not negotiate it expects a write-through
 * device, and QEMU then follows every write with an fdatasync (Linux
 * drivers/block/virtio_blk.c, virtblk_get_cache_mode). */
static bool initialise(bool *read_only) {
    char why[120] = "";
    if (!virtio_reset(&device)) return tap_check(false, "reset", "status %02x", virtio_get_status(&device));
    virtio_set_status(&device, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_set_status(&device, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered = virtio_device_features(&device);
    uint64_t features =
        offered & ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_RO) | (1ull << VIRTIO_BLK_F_FLUSH));
    *read_only = features & (1ull << VIRTIO_BLK_F_RO);
    virtio_set_driver_features(&device, features);
    uint8_t ready = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    virtio_set_status(&device, ready);
    bool ok = (offered & (1ull << VIRTIO_F_VERSION_1)) && (virtio_get_status(&device) & VIRTIO_STATUS_FEATURES_OK);
    if (!ok) snprintf(why, sizeof why, "features %08x, status %02x", (unsigned)offered, virtio_get_status(&device));
    ok = ok && virtio_set_config_vector(&device, MSIX_CONFIG_ENTRY) == MSIX_CONFIG_ENTRY &&
         virtio_queue_setup(&device, &queue, 0, MSIX_QUEUE_ENTRY, why, sizeof why);
    if (ok) {
        virtio_set_status(&device, ready | VIRTIO_STATUS_DRIVER_OK);
        uint8_t status = virtio_get_status(&device);
        ok = (status & VIRTIO_STATUS_DRIVER_OK) && !(status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
        if (!ok) snprintf(why, sizeof why, "status %02x after DRIVER_OK", status);
    }
    if (ok) tap_diag("features accepted %08x%08x", (unsigned)(features >> 32), (unsigned)features);
    return tap_check(ok, "device initialised (VERSION_1, queue 0 on MSI-X, DRIVER_OK)", "%s", why);
}

static void run_benchmark(void) {
    bool read_only = false;
    if (!initialise(&read_only)) return;
    uint64_t capacity = virtio_config_read64(&device, BLK_CONFIG_CAPACITY);
    uint64_t blocks = capacity / SECTORS_PER_BLOCK;
    if (!tap_check(blocks > 0 && blocks >> 32 == 0, "capacity holds 4 KiB blocks", "%u sectors", (unsigned)capacity))
        return;
    unsigned requests = parse_requests();
    tap_diag("%u requests per phase over %u blocks of 4 KiB, queue %u entries", requests, (unsigned)blocks,
             queue.size);
    char why[120] = "";
    if (!tap_check(spin_request(VIRTIO_BLK_T_IN, 0, why, sizeof why), "warm-up read completes with MSI-X", "%s",
                   why))
        return;
    run_phase("read", VIRTIO_BLK_T_IN, requests, (uint32_t)blocks);
    if (read_only)
        tap_skip("write phase: every request OK", "read-only disk");
    else
        run_phase("write", VIRTIO_BLK_T_OUT, requests, (uint32_t)blocks);
    tap_check(config_interrupts == 0, "no config interrupt", "%u", config_interrupts);
}

void suite_virtio_blk_bench(void) {
    queue_interrupts = config_interrupts = 0;
    for (unsigned i = 0; i < BLOCK; i++) data[i] = (uint8_t)(i * 7 + 1);
    if (!tap_check(virtio_pci_find(VIRTIO_PCI_MODERN_DEVICE_BASE + VIRTIO_ID_BLOCK, &device),
                   "virtio-blk 1af4:1042 on bus 0", "not found"))
        return;
    char why[160] = "";
    bool mapped = tap_check(virtio_pci_map(&device, why, sizeof why), "virtio capabilities inside their BARs", "%s",
                            why);
    if (mapped && tap_check(device.msix_cap && device.msix_entries >= 2 && device.msix_table,
                            "MSI-X capability with 2+ entries", "cap %02x, %u entries", device.msix_cap,
                            (unsigned)device.msix_entries)) {
        interrupt_set_handler(QUEUE_VECTOR, queue_handler);
        interrupt_set_handler(CONFIG_VECTOR, config_handler);
        msix_program_entry(&device, MSIX_CONFIG_ENTRY, CONFIG_VECTOR);
        msix_program_entry(&device, MSIX_QUEUE_ENTRY, QUEUE_VECTOR);
        msix_set_enabled(&device, true);
        run_benchmark();
        tap_check(virtio_reset(&device), "reset at the end", "status %02x", virtio_get_status(&device));
        msix_set_enabled(&device, false);
        interrupt_set_handler(QUEUE_VECTOR, NULL);
        interrupt_set_handler(CONFIG_VECTOR, NULL);
    }
    virtio_pci_unmap(&device);
}
