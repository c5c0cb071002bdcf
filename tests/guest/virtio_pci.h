/* A minimal virtio 1.2 driver over the modern PCI transport (virtio 1.2,
 * 4.1): the device is found on bus 0, its structures through the
 * vendor-specific capabilities (4.1.4), one split virtqueue (2.7) of at most
 * VIRTQ_MAX_SIZE entries in static memory (no paging: physical == linear),
 * interrupts by MSI-X or INTx. One request in flight at a time, always in
 * descriptors 0..n-1: enough for a device test, and easy to follow. */
#pragma once

#include "pci.h"

#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_MODERN_DEVICE_BASE 0x1040 /* + virtio device ID (4.1.2.1) */

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_F_VERSION_1 32
#define VIRTIO_MSI_NO_VECTOR 0xFFFF

/* Split virtqueue layout (2.7.5, 2.7.6, 2.7.8). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_MAX_SIZE 16

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[VIRTQ_MAX_SIZE];
    uint16_t used_event; /* unused: VIRTIO_F_EVENT_IDX is never negotiated */
};
struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};
struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[VIRTQ_MAX_SIZE];
    uint16_t avail_event;
};

/* One virtio_pci_cap (4.1.4) as found, and where it lands in memory. */
struct virtio_region {
    uint8_t cap;      /* config-space offset of the capability, 0: not found */
    uint8_t bar;
    uint32_t offset;
    uint32_t length;
    uintptr_t address;
};

struct virtio_pci_device {
    uint32_t dev, fn;
    uint16_t original_command;
    struct pci_bar bars[6];
    uint64_t original_bar_address[6];
    bool bar_relocated[6];
    struct virtio_region common, notify, isr, device;
    uint32_t notify_off_multiplier;
    uint8_t msix_cap;         /* 0: no MSI-X capability */
    uint32_t msix_entries;
    uintptr_t msix_table;     /* 0 when the table is not in a usable BAR */
    uint8_t interrupt_line;   /* config register 0x3C: the IOAPIC input (GSI) */
};

struct virtq {
    uint16_t index;
    uint16_t size;
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_used;
    uintptr_t notify_address;
};

/* The memory of one split virtqueue of up to VIRTQ_MAX_SIZE entries:
 * descriptor table 16-byte, available ring 2-byte, used ring 4-byte
 * aligned (2.7.5); 64 keeps each on its own cache line(s). A driver with
 * more than one queue gives each its own (virtio_queue_setup_rings). */
struct virtq_rings {
    struct virtq_desc desc[VIRTQ_MAX_SIZE] __attribute__((aligned(64)));
    struct virtq_avail avail __attribute__((aligned(64)));
    struct virtq_used used __attribute__((aligned(64)));
};

/* A buffer of a descriptor chain: device-readable or device-writable. */
struct virtq_buffer {
    const void *data;
    uint32_t length;
    bool device_writes;
};

/* Finds the first function with vendor 1af4 and this PCI device ID on bus 0. */
bool virtio_pci_find(uint16_t pci_device_id, struct virtio_pci_device *d);
/* Sizes the BARs, moves a 64-bit BAR that lies above 4 GiB (unreachable
 * without paging) into free space below the lowest 32-bit memory BAR, finds
 * the common/notify/ISR/device capabilities (the first of each type with a
 * valid BAR, 4.1.4.1), checks each lies inside its BAR, locates the MSI-X
 * table, and enables memory decode and bus mastering. On failure returns
 * false with the reason in `why`. */
bool virtio_pci_map(struct virtio_pci_device *d, char *why, size_t why_size);
/* Resets the device, disables MSI-X and restores the BARs and command
 * register as found. */
void virtio_pci_unmap(struct virtio_pci_device *d);

uint8_t virtio_get_status(const struct virtio_pci_device *d);
void virtio_set_status(const struct virtio_pci_device *d, uint8_t status);
/* Writes 0 and waits (bounded) until device_status reads 0 (4.1.4.3.2). */
bool virtio_reset(const struct virtio_pci_device *d);
uint64_t virtio_device_features(const struct virtio_pci_device *d);
void virtio_set_driver_features(const struct virtio_pci_device *d, uint64_t features);
/* Initialisation after the reset (3.1.1 steps 2-6): ACKNOWLEDGE, DRIVER,
 * the offered features that are also `wanted` accepted, FEATURES_OK; the
 * offer and the acceptance printed as a diagnostic. Returns the device
 * status read back (FEATURES_OK stays set only if the device agrees). */
uint8_t virtio_negotiate_features(const struct virtio_pci_device *d, uint64_t wanted, uint64_t *offered,
                                  uint64_t *accepted);
/* Writes config_msix_vector and returns what the device reads back
 * (VIRTIO_MSI_NO_VECTOR: refused, 4.1.5.1.2). */
uint16_t virtio_set_config_vector(const struct virtio_pci_device *d, uint16_t vector);
/* Reading the ISR status clears it and deasserts INTx (4.1.4.5). */
uint8_t virtio_read_isr(const struct virtio_pci_device *d);

/* Device-specific configuration, read with a config_generation check so
 * that a 64-bit field is not torn (4.1.4.3.1). Offsets are checked against
 * the capability length; out-of-range reads return 0. */
uint8_t virtio_config_read8(const struct virtio_pci_device *d, uint32_t offset);
uint32_t virtio_config_read32(const struct virtio_pci_device *d, uint32_t offset);
uint64_t virtio_config_read64(const struct virtio_pci_device *d, uint32_t offset);
bool virtio_config_has(const struct virtio_pci_device *d, uint32_t offset, uint32_t size);

/* Selects queue `index`, sizes it min(device maximum, VIRTQ_MAX_SIZE), sets
 * its MSI-X vector (VIRTIO_MSI_NO_VECTOR for INTx), gives it the static
 * rings and enables it (4.1.5.1.3). */
bool virtio_queue_setup(const struct virtio_pci_device *d, struct virtq *q, uint16_t index, uint16_t msix_vector,
                        char *why, size_t why_size);

/* virtio_queue_setup with caller-owned rings (zeroed here), for drivers
 * that run several queues at once (the shared static rings serve one). */
bool virtio_queue_setup_rings(const struct virtio_pci_device *d, struct virtq *q, struct virtq_rings *rings,
                              uint16_t index, uint16_t msix_vector, char *why, size_t why_size);

/* MSI-X (PCI 3.0, 6.8.2): entry `entry` sends `vector` to the BSP's local
 * APIC (fixed delivery, physical destination, edge). */
void msix_program_entry(const struct virtio_pci_device *d, uint32_t entry, uint8_t vector);
void msix_set_enabled(const struct virtio_pci_device *d, bool enabled);

/* One MSI-X table entry a driver uses: the vector it sends, and the
 * handler of that vector. */
struct virtio_msix_route {
    uint16_t entry;
    uint8_t vector;
    void (*handler)(void);
};

/* How a driver takes its interrupts: by MSI-X through `routes`, or by INTx
 * on `intx_vector` (the IOAPIC input named by the Interrupt Line, level,
 * active high). */
struct virtio_interrupts {
    bool use_msix;
    const struct virtio_msix_route *routes;
    unsigned route_count;
    uint8_t intx_vector;
    void (*intx_handler)(void);
};

/* A TAP check that the resources for irq->use_msix exist: an MSI-X
 * capability with 2+ entries whose table lies in a memory BAR, or an
 * Interrupt Line that names an IOAPIC input (routed, then masked again). */
bool virtio_check_interrupt_resources(const struct virtio_pci_device *d, const struct virtio_interrupts *irq);
/* Installs the handlers, then programs the routes' MSI-X entries and
 * enables MSI-X; or, for INTx, disables MSI-X and routes the pin. */
void virtio_connect_interrupts(const struct virtio_pci_device *d, const struct virtio_interrupts *irq);
/* Undoes virtio_connect_interrupts: MSI-X off or the pin masked, handlers
 * removed. */
void virtio_disconnect_interrupts(const struct virtio_pci_device *d, const struct virtio_interrupts *irq);

/* Puts buffers[0..count-1] into descriptors 0..count-1 as one chain, makes
 * it available and notifies the device. False (nothing sent) when the chain
 * is longer than the queue. */
bool virtq_submit(struct virtq *q, const struct virtq_buffer *buffers, unsigned count);
/* virtq_submit in two steps, for timing the doorbell on its own: the chain
 * made available without a notify, then the notify (the doorbell write). */
bool virtq_make_available(struct virtq *q, const struct virtq_buffer *buffers, unsigned count);
void virtq_notify(const struct virtq *q);
/* Makes the chain starting at descriptor `head` available (ring entry,
 * then idx after a barrier) without notifying: for drivers that manage
 * their own descriptors and keep many chains in flight. */
void virtq_publish(struct virtq *q, uint16_t head);
/* Takes the next used element if the device has published one. */
bool virtq_take_used(struct virtq *q, struct virtq_used_elem *out);
