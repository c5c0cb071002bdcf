/* virtio 1.2 modern PCI transport and split virtqueue, driver side (see
 * virtio_pci.h). Section numbers are from the virtio 1.2 specification. */
#include "virtio_pci.h"

#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "tap.h"

/* virtio_pci_cap (4.1.4) field offsets and cfg_type values. */
#define VIRTIO_CAP_LEN 2
#define VIRTIO_CAP_CFG_TYPE 3
#define VIRTIO_CAP_BAR 4
#define VIRTIO_CAP_OFFSET 8
#define VIRTIO_CAP_LENGTH 12
#define VIRTIO_CAP_NOTIFY_MULTIPLIER 16
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* virtio_pci_common_cfg (4.1.4.3). */
#define COMMON_DEVICE_FEATURE_SELECT 0x00
#define COMMON_DEVICE_FEATURE 0x04
#define COMMON_DRIVER_FEATURE_SELECT 0x08
#define COMMON_DRIVER_FEATURE 0x0C
#define COMMON_CONFIG_MSIX_VECTOR 0x10
#define COMMON_NUM_QUEUES 0x12
#define COMMON_DEVICE_STATUS 0x14
#define COMMON_CONFIG_GENERATION 0x15
#define COMMON_QUEUE_SELECT 0x16
#define COMMON_QUEUE_SIZE 0x18
#define COMMON_QUEUE_MSIX_VECTOR 0x1A
#define COMMON_QUEUE_ENABLE 0x1C
#define COMMON_QUEUE_NOTIFY_OFF 0x1E
#define COMMON_QUEUE_DESC 0x20
#define COMMON_QUEUE_DRIVER 0x28
#define COMMON_QUEUE_DEVICE 0x30
#define COMMON_MIN_LENGTH 0x38 /* through queue_device: the virtio 1.0 layout */

/* MSI-X capability and table (PCI Local Bus 3.0, 6.8.2). */
#define MSIX_CONTROL 2
#define MSIX_TABLE 4
#define MSIX_CONTROL_ENABLE (1u << 15)
#define MSIX_CONTROL_FUNCTION_MASK (1u << 14)
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_ADDRESS_LOW 0
#define MSIX_ENTRY_ADDRESS_HIGH 4
#define MSIX_ENTRY_DATA 8
#define MSIX_ENTRY_CONTROL 12
#define MSIX_ENTRY_MASKED 1u
#define MSI_ADDRESS_BASE 0xFEE00000u /* Intel SDM vol. 3, 10.11.1 */

#define FOUR_GIB 0x100000000ull
#define IOAPIC_DEFAULT_BASE 0xFEC00000u

/* The rings of the one queue virtio_queue_setup drives. */
static struct virtq_rings rings;

static void full_barrier(void) { __asm__ volatile("lock; addl $0, (%%esp)" ::: "memory", "cc"); }

bool virtio_pci_find(uint16_t pci_device_id, struct virtio_pci_device *d) {
    *d = (struct virtio_pci_device){0};
    return pci_find_function(VIRTIO_PCI_VENDOR, pci_device_id, &d->dev, &d->fn);
}

/* The lowest address any 32-bit-reachable memory BAR on bus 0 decodes,
 * other than this device's own BAR `skip`: firmware (SeaBIOS) fills the
 * PCI hole top-down from the IOAPIC, so the space just below is free. */
static uint64_t lowest_bar_address(const struct virtio_pci_device *d, unsigned skip) {
    uint64_t lowest = IOAPIC_DEFAULT_BASE;
    for (uint32_t dev = 0; dev < 32; dev++) {
        if ((pci_read32(0, dev, 0, 0) & 0xFFFF) == 0xFFFF) continue;
        bool multi = pci_read8(0, dev, 0, 0x0E) & 0x80;
        for (uint32_t fn = 0; fn < (multi ? 8u : 1u); fn++) {
            if ((pci_read32(0, dev, fn, 0) & 0xFFFF) == 0xFFFF || (pci_read8(0, dev, fn, 0x0E) & 0x7F) != 0) continue;
            for (unsigned bar = 0; bar < 6;) {
                struct pci_bar b;
                unsigned used = pci_bar_probe(dev, fn, bar, &b);
                bool own = dev == d->dev && fn == d->fn && bar == skip;
                if (b.implemented && !b.io && !own && b.address && b.address < lowest) lowest = b.address;
                bar += used;
            }
        }
    }
    return lowest;
}

/* A 64-bit BAR above 4 GiB (or a BAR left unassigned) cannot be reached by
 * this unpaged 32-bit guest: move it just below the lowest BAR in use,
 * above RAM, aligned to its size. */
static bool relocate_bar(struct virtio_pci_device *d, unsigned bar, char *why, size_t why_size) {
    struct pci_bar *b = &d->bars[bar];
    if (b->address && b->address + b->size <= FOUR_GIB) return true;
    uint64_t ram_top = 0x100000ull + (uint64_t)platform.mem_upper_kib * 1024;
    uint64_t lowest = lowest_bar_address(d, bar);
    if (b->size > lowest) {
        snprintf(why, why_size, "BAR%u (size %x) does not fit below %x", bar, (unsigned)b->size, (unsigned)lowest);
        return false;
    }
    uint64_t address = (lowest - b->size) & ~(b->size - 1);
    if (address < ram_top) {
        snprintf(why, why_size, "BAR%u at %x%08x is out of reach and no room below %x", bar,
                 (unsigned)(b->address >> 32), (unsigned)b->address, (unsigned)lowest);
        return false;
    }
    printf("# virtio: BAR%u moved from %x%08x to %08x (unpaged 32-bit driver)\n", bar, (unsigned)(b->address >> 32),
           (unsigned)b->address, (unsigned)address);
    pci_bar_set_address(d->dev, d->fn, bar, b->wide, address);
    d->bar_relocated[bar] = true;
    b->address = address;
    return true;
}

/* Validates one virtio_pci_cap: BAR 0-5, implemented, memory, the region
 * inside the BAR (4.1.4: other BAR values are reserved and ignored). */
static bool read_region(struct virtio_pci_device *d, uint8_t cap, struct virtio_region *r, uint32_t min_length,
                        char *why, size_t why_size) {
    uint8_t bar = pci_read8(0, d->dev, d->fn, cap + VIRTIO_CAP_BAR);
    uint32_t offset = pci_read32(0, d->dev, d->fn, cap + VIRTIO_CAP_OFFSET);
    uint32_t length = pci_read32(0, d->dev, d->fn, cap + VIRTIO_CAP_LENGTH);
    const struct pci_bar *b = &d->bars[bar < 6 ? bar : 0];
    if (bar >= 6 || !b->implemented || b->io) {
        snprintf(why, why_size, "cap %02x names BAR %u, not an implemented memory BAR", cap, bar);
        return false;
    }
    if (length < min_length || (uint64_t)offset + length > b->size) {
        snprintf(why, why_size, "cap %02x: offset %x length %x outside BAR%u size %x or under %x", cap, offset, length,
                 bar, (unsigned)b->size, min_length);
        return false;
    }
    *r = (struct virtio_region){.cap = cap, .bar = bar, .offset = offset, .length = length};
    return true;
}

static bool find_regions(struct virtio_pci_device *d, char *why, size_t why_size) {
    unsigned steps = 0;
    for (uint8_t at = pci_next_capability(d->dev, d->fn, 0, &steps); at;
         at = pci_next_capability(d->dev, d->fn, at, &steps)) {
        if (pci_read8(0, d->dev, d->fn, at) != PCI_CAP_ID_VENDOR) continue;
        uint8_t cap_len = pci_read8(0, d->dev, d->fn, at + VIRTIO_CAP_LEN);
        uint8_t type = pci_read8(0, d->dev, d->fn, at + VIRTIO_CAP_CFG_TYPE);
        uint8_t bar = pci_read8(0, d->dev, d->fn, at + VIRTIO_CAP_BAR);
        if (cap_len < 16 || bar >= 6) continue; /* reserved BAR values: ignore the capability */
        struct virtio_region *r = type == VIRTIO_PCI_CAP_COMMON_CFG   ? &d->common
                                  : type == VIRTIO_PCI_CAP_NOTIFY_CFG ? &d->notify
                                  : type == VIRTIO_PCI_CAP_ISR_CFG    ? &d->isr
                                  : type == VIRTIO_PCI_CAP_DEVICE_CFG ? &d->device
                                                                      : NULL;
        if (!r || r->cap) continue; /* the first of each type wins (4.1.4) */
        uint32_t min_length = type == VIRTIO_PCI_CAP_COMMON_CFG ? COMMON_MIN_LENGTH
                              : type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 2
                                                                  : 1;
        if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
            if (cap_len < 20) {
                snprintf(why, why_size, "notify cap %02x is %u bytes, needs 20", at, cap_len);
                return false;
            }
            d->notify_off_multiplier = pci_read32(0, d->dev, d->fn, at + VIRTIO_CAP_NOTIFY_MULTIPLIER);
        }
        if (!read_region(d, at, r, min_length, why, why_size)) return false;
    }
    if (!d->common.cap || !d->notify.cap || !d->isr.cap || !d->device.cap) {
        snprintf(why, why_size, "missing capability: common %02x notify %02x isr %02x device %02x", d->common.cap,
                 d->notify.cap, d->isr.cap, d->device.cap);
        return false;
    }
    /* Field alignment (4.1.4.3.1, 4.1.4.4): the common structure holds
     * 64-bit fields, notify addresses are 16-bit. */
    if ((d->common.offset & 3) || (d->notify.offset & 1) || (d->notify_off_multiplier & 1)) {
        snprintf(why, why_size, "misaligned: common offset %x, notify offset %x multiplier %u", d->common.offset,
                 d->notify.offset, d->notify_off_multiplier);
        return false;
    }
    return true;
}

static void find_msix(struct virtio_pci_device *d) {
    d->msix_cap = pci_find_capability(d->dev, d->fn, PCI_CAP_ID_MSIX);
    if (!d->msix_cap) return;
    d->msix_entries = (pci_read16(0, d->dev, d->fn, d->msix_cap + MSIX_CONTROL) & 0x7FFu) + 1;
    uint32_t table = pci_read32(0, d->dev, d->fn, d->msix_cap + MSIX_TABLE);
    unsigned bir = table & 7;
    uint32_t offset = table & ~7u;
    const struct pci_bar *b = &d->bars[bir < 6 ? bir : 0];
    if (bir < 6 && b->implemented && !b->io && (uint64_t)offset + MSIX_ENTRY_SIZE * d->msix_entries <= b->size)
        d->msix_table = (uintptr_t)b->address + offset;
}

static void set_region_address(const struct virtio_pci_device *d, struct virtio_region *r) {
    r->address = (uintptr_t)d->bars[r->bar].address + r->offset;
}

bool virtio_pci_map(struct virtio_pci_device *d, char *why, size_t why_size) {
    d->original_command = pci_read16(0, d->dev, d->fn, PCI_COMMAND);
    d->interrupt_line = pci_read8(0, d->dev, d->fn, PCI_INTERRUPT_LINE);
    for (unsigned bar = 0; bar < 6;) {
        unsigned used = pci_bar_probe(d->dev, d->fn, bar, &d->bars[bar]);
        d->original_bar_address[bar] = d->bars[bar].address;
        if (used == 2) d->bars[bar + 1] = (struct pci_bar){0};
        bar += used;
    }
    if (!find_regions(d, why, why_size)) return false;
    find_msix(d);
    /* Only the BARs we use are moved. */
    uint8_t used_bars[4] = {d->common.bar, d->notify.bar, d->isr.bar, d->device.bar};
    for (int i = 0; i < 4; i++)
        if (!relocate_bar(d, used_bars[i], why, why_size)) return false;
    if (d->msix_table) {
        unsigned bir = pci_read32(0, d->dev, d->fn, d->msix_cap + MSIX_TABLE) & 7;
        if (!relocate_bar(d, bir, why, why_size)) return false;
        d->msix_table = (uintptr_t)d->bars[bir].address +
                        (pci_read32(0, d->dev, d->fn, d->msix_cap + MSIX_TABLE) & ~7u);
    }
    set_region_address(d, &d->common);
    set_region_address(d, &d->notify);
    set_region_address(d, &d->isr);
    set_region_address(d, &d->device);
    pci_write16(0, d->dev, d->fn, PCI_COMMAND,
                (uint16_t)((d->original_command | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER) &
                           ~PCI_COMMAND_INTX_DISABLE));
    return true;
}

void virtio_pci_unmap(struct virtio_pci_device *d) {
    if (d->common.address) virtio_reset(d);
    if (d->msix_cap) msix_set_enabled(d, false);
    for (unsigned bar = 0; bar < 6; bar++)
        if (d->bar_relocated[bar])
            pci_bar_set_address(d->dev, d->fn, bar, d->bars[bar].wide, d->original_bar_address[bar]);
    pci_write16(0, d->dev, d->fn, PCI_COMMAND, d->original_command);
}

static uintptr_t common(const struct virtio_pci_device *d, uint32_t field) { return d->common.address + field; }

uint8_t virtio_get_status(const struct virtio_pci_device *d) { return mmio_read8(common(d, COMMON_DEVICE_STATUS)); }

void virtio_set_status(const struct virtio_pci_device *d, uint8_t status) {
    mmio_write8(common(d, COMMON_DEVICE_STATUS), status);
}

bool virtio_reset(const struct virtio_pci_device *d) {
    virtio_set_status(d, 0);
    for (int i = 0; i < 100000; i++) {
        if (virtio_get_status(d) == 0) return true;
        cpu_relax();
    }
    return false;
}

uint64_t virtio_device_features(const struct virtio_pci_device *d) {
    mmio_write32(common(d, COMMON_DEVICE_FEATURE_SELECT), 0);
    uint64_t low = mmio_read32(common(d, COMMON_DEVICE_FEATURE));
    mmio_write32(common(d, COMMON_DEVICE_FEATURE_SELECT), 1);
    uint64_t high = mmio_read32(common(d, COMMON_DEVICE_FEATURE));
    return high << 32 | low;
}

void virtio_set_driver_features(const struct virtio_pci_device *d, uint64_t features) {
    mmio_write32(common(d, COMMON_DRIVER_FEATURE_SELECT), 0);
    mmio_write32(common(d, COMMON_DRIVER_FEATURE), (uint32_t)features);
    mmio_write32(common(d, COMMON_DRIVER_FEATURE_SELECT), 1);
    mmio_write32(common(d, COMMON_DRIVER_FEATURE), (uint32_t)(features >> 32));
}

uint8_t virtio_negotiate_features(const struct virtio_pci_device *d, uint64_t wanted, uint64_t *offered,
                                  uint64_t *accepted) {
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    *offered = virtio_device_features(d);
    *accepted = *offered & wanted;
    virtio_set_driver_features(d, *accepted);
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    tap_diag("features offered %08x%08x, accepted %08x%08x", (unsigned)(*offered >> 32), (unsigned)*offered,
             (unsigned)(*accepted >> 32), (unsigned)*accepted);
    return virtio_get_status(d);
}

uint16_t virtio_set_config_vector(const struct virtio_pci_device *d, uint16_t vector) {
    mmio_write16(common(d, COMMON_CONFIG_MSIX_VECTOR), vector);
    return mmio_read16(common(d, COMMON_CONFIG_MSIX_VECTOR));
}

uint8_t virtio_read_isr(const struct virtio_pci_device *d) { return mmio_read8(d->isr.address); }

bool virtio_config_has(const struct virtio_pci_device *d, uint32_t offset, uint32_t size) {
    return (uint64_t)offset + size <= d->device.length;
}

uint8_t virtio_config_read8(const struct virtio_pci_device *d, uint32_t offset) {
    return virtio_config_has(d, offset, 1) ? mmio_read8(d->device.address + offset) : 0;
}

uint32_t virtio_config_read32(const struct virtio_pci_device *d, uint32_t offset) {
    return virtio_config_has(d, offset, 4) ? mmio_read32(d->device.address + offset) : 0;
}

uint64_t virtio_config_read64(const struct virtio_pci_device *d, uint32_t offset) {
    if (!virtio_config_has(d, offset, 8)) return 0;
    uint64_t value = 0;
    for (int attempt = 0; attempt < 16; attempt++) {
        uint8_t before = mmio_read8(common(d, COMMON_CONFIG_GENERATION));
        uint64_t low = mmio_read32(d->device.address + offset);
        uint64_t high = mmio_read32(d->device.address + offset + 4);
        value = high << 32 | low;
        if (mmio_read8(common(d, COMMON_CONFIG_GENERATION)) == before) break;
    }
    return value;
}

static void write_address(uintptr_t field, const void *pointer) {
    mmio_write32(field, (uint32_t)(uintptr_t)pointer);
    mmio_write32(field + 4, 0);
}

bool virtio_queue_setup(const struct virtio_pci_device *d, struct virtq *q, uint16_t index, uint16_t msix_vector,
                        char *why, size_t why_size) {
    return virtio_queue_setup_rings(d, q, &rings, index, msix_vector, why, why_size);
}

bool virtio_queue_setup_rings(const struct virtio_pci_device *d, struct virtq *q, struct virtq_rings *rings,
                              uint16_t index, uint16_t msix_vector, char *why, size_t why_size) {
    mmio_write16(common(d, COMMON_QUEUE_SELECT), index);
    uint16_t max_size = mmio_read16(common(d, COMMON_QUEUE_SIZE));
    if (max_size == 0 || (max_size & (max_size - 1))) {
        snprintf(why, why_size, "queue %u: device maximum size %u", index, max_size);
        return false;
    }
    if (mmio_read16(common(d, COMMON_QUEUE_ENABLE)) != 0) {
        snprintf(why, why_size, "queue %u enabled before set-up", index);
        return false;
    }
    uint16_t size = max_size < VIRTQ_MAX_SIZE ? max_size : VIRTQ_MAX_SIZE;
    memset(rings, 0, sizeof *rings);
    *q = (struct virtq){.index = index, .size = size, .desc = rings->desc, .avail = &rings->avail, .used = &rings->used};
    mmio_write16(common(d, COMMON_QUEUE_SIZE), size);
    mmio_write16(common(d, COMMON_QUEUE_MSIX_VECTOR), msix_vector);
    uint16_t vector_back = mmio_read16(common(d, COMMON_QUEUE_MSIX_VECTOR));
    write_address(common(d, COMMON_QUEUE_DESC), rings->desc);
    write_address(common(d, COMMON_QUEUE_DRIVER), &rings->avail);
    write_address(common(d, COMMON_QUEUE_DEVICE), &rings->used);
    uint16_t notify_off = mmio_read16(common(d, COMMON_QUEUE_NOTIFY_OFF));
    uint64_t notify_at = (uint64_t)notify_off * d->notify_off_multiplier;
    if (notify_at + 2 > d->notify.length) {
        snprintf(why, why_size, "queue %u notify offset %u x %u outside the notify region (%u bytes)", index,
                 notify_off, d->notify_off_multiplier, d->notify.length);
        return false;
    }
    q->notify_address = d->notify.address + (uintptr_t)notify_at;
    mmio_write16(common(d, COMMON_QUEUE_ENABLE), 1);
    uint16_t enabled = mmio_read16(common(d, COMMON_QUEUE_ENABLE));
    uint16_t size_back = mmio_read16(common(d, COMMON_QUEUE_SIZE));
    if (vector_back != msix_vector || enabled != 1 || size_back != size) {
        snprintf(why, why_size, "queue %u read back vector %x (wrote %x), enable %u, size %u (wrote %u)", index,
                 vector_back, msix_vector, enabled, size_back, size);
        return false;
    }
    return true;
}

void msix_program_entry(const struct virtio_pci_device *d, uint32_t entry, uint8_t vector) {
    uintptr_t at = d->msix_table + MSIX_ENTRY_SIZE * entry;
    mmio_write32(at + MSIX_ENTRY_CONTROL, MSIX_ENTRY_MASKED);
    mmio_write32(at + MSIX_ENTRY_ADDRESS_LOW, MSI_ADDRESS_BASE | (uint32_t)lapic_id() << 12);
    mmio_write32(at + MSIX_ENTRY_ADDRESS_HIGH, 0);
    mmio_write32(at + MSIX_ENTRY_DATA, vector); /* fixed delivery, edge */
    mmio_write32(at + MSIX_ENTRY_CONTROL, 0);
}

void msix_set_enabled(const struct virtio_pci_device *d, bool enabled) {
    uint16_t control = pci_read16(0, d->dev, d->fn, d->msix_cap + MSIX_CONTROL);
    control &= (uint16_t) ~(MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
    if (enabled) control |= MSIX_CONTROL_ENABLE;
    pci_write16(0, d->dev, d->fn, d->msix_cap + MSIX_CONTROL, control);
}

bool virtio_check_interrupt_resources(const struct virtio_pci_device *d, const struct virtio_interrupts *irq) {
    if (irq->use_msix) {
        bool ok = d->msix_cap && d->msix_entries >= 2 && d->msix_table;
        return tap_check(ok, "MSI-X capability with 2+ entries in a memory BAR", "cap %02x, %u entries, table %08x",
                         d->msix_cap, (unsigned)d->msix_entries, (unsigned)d->msix_table);
    }
    uint8_t line = d->interrupt_line;
    bool ok = line != 0 && line != 0xFF && ioapic_route_gsi(line, irq->intx_vector, true, false);
    ioapic_mask_gsi(line);
    return tap_check(ok, "Interrupt Line names an IOAPIC input", "line %u, IOAPIC GSIs %u-%u", line,
                     platform.ioapic_gsi_base, platform.ioapic_gsi_base + ioapic_pin_count() - 1);
}

void virtio_connect_interrupts(const struct virtio_pci_device *d, const struct virtio_interrupts *irq) {
    if (irq->use_msix) {
        for (unsigned i = 0; i < irq->route_count; i++) interrupt_set_handler(irq->routes[i].vector, irq->routes[i].handler);
        for (unsigned i = 0; i < irq->route_count; i++) msix_program_entry(d, irq->routes[i].entry, irq->routes[i].vector);
        msix_set_enabled(d, true);
    } else {
        if (d->msix_cap) msix_set_enabled(d, false);
        interrupt_set_handler(irq->intx_vector, irq->intx_handler);
        ioapic_route_gsi(d->interrupt_line, irq->intx_vector, true, false);
    }
}

void virtio_disconnect_interrupts(const struct virtio_pci_device *d, const struct virtio_interrupts *irq) {
    if (irq->use_msix) {
        if (d->msix_cap) msix_set_enabled(d, false);
        for (unsigned i = 0; i < irq->route_count; i++) interrupt_set_handler(irq->routes[i].vector, NULL);
    } else {
        ioapic_mask_gsi(d->interrupt_line);
        interrupt_set_handler(irq->intx_vector, NULL);
    }
}

bool virtq_submit(struct virtq *q, const struct virtq_buffer *buffers, unsigned count) {
    if (!virtq_make_available(q, buffers, count)) return false;
    virtq_notify(q);
    return true;
}

bool virtq_make_available(struct virtq *q, const struct virtq_buffer *buffers, unsigned count) {
    if (count == 0 || count > q->size) return false;
    for (unsigned i = 0; i < count; i++) {
        q->desc[i] = (struct virtq_desc){
            .addr = (uint32_t)(uintptr_t)buffers[i].data,
            .len = buffers[i].length,
            .flags = (uint16_t)((buffers[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
                                (i + 1 < count ? VIRTQ_DESC_F_NEXT : 0)),
            .next = (uint16_t)(i + 1 < count ? i + 1 : 0),
        };
    }
    virtq_publish(q, 0);
    return true;
}

void virtq_publish(struct virtq *q, uint16_t head) {
    volatile struct virtq_avail *avail = q->avail;
    uint16_t idx = avail->idx;
    avail->ring[idx % q->size] = head;
    /* The descriptors and ring entry before idx (2.7.13.3). */
    full_barrier();
    avail->idx = (uint16_t)(idx + 1);
}

void virtq_notify(const struct virtq *q) {
    full_barrier(); /* avail->idx before the notify (2.7.13.4) */
    mmio_write16(q->notify_address, q->index);
}

bool virtq_take_used(struct virtq *q, struct virtq_used_elem *out) {
    volatile struct virtq_used *used = q->used;
    if (used->idx == q->last_used) return false;
    full_barrier(); /* read the element only after seeing idx move */
    out->id = used->ring[q->last_used % q->size].id;
    out->len = used->ring[q->last_used % q->size].len;
    q->last_used++;
    return true;
}
