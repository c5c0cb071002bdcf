/* Register-level helpers of the e1000 suite; see e1000_nic.h. Every wait
 * on the device is bounded: a device that never answers fails a check
 * instead of hanging the probe. */
#include "e1000_nic.h"

#include "console.h"
#include "e1000_hw.h"
#include "pci.h"
#include "rtc_clock.h"

/* Polls of a "done" bit before falling back to an RTC-measured deadline:
 * an emulated register answers at once, the deadline covers slow ones. */
#define QUICK_POLLS 1000
#define DEVICE_WAIT_SECONDS 2

bool e1000_find(struct e1000_nic *nic) {
    *nic = (struct e1000_nic){0};
    return pci_find_function(E1000_VENDOR_ID, E1000_DEVICE_ID, &nic->dev, &nic->fn);
}

bool e1000_map(struct e1000_nic *nic, char *why, size_t why_size) {
    struct pci_bar bar0;
    pci_bar_probe(nic->dev, nic->fn, 0, &bar0);
    nic->interrupt_line = pci_read8(0, nic->dev, nic->fn, PCI_INTERRUPT_LINE);
    if (!bar0.implemented || bar0.io) {
        snprintf(why, why_size, "BAR0 is %s", bar0.implemented ? "an I/O BAR" : "not implemented");
        return false;
    }
    /* No paging: the BAR must lie below 4 GiB to be reachable (the 82540EM's
     * BAR0 is a 32-bit BAR, so firmware cannot put it higher). */
    if (bar0.size < E1000_MMIO_BAR_BYTES || bar0.address == 0 || bar0.address + bar0.size > 0x100000000ull) {
        snprintf(why, why_size, "BAR0 at %08x%08x, %u KiB: want 128+ KiB below 4 GiB", (unsigned)(bar0.address >> 32),
                 (unsigned)bar0.address, (unsigned)(bar0.size >> 10));
        return false;
    }
    nic->mmio = (uintptr_t)bar0.address;
    nic->mmio_bytes = bar0.size;
    nic->original_command = pci_read16(0, nic->dev, nic->fn, PCI_COMMAND);
    pci_write16(0, nic->dev, nic->fn, PCI_COMMAND,
                (uint16_t)((nic->original_command | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER) &
                           ~PCI_COMMAND_INTX_DISABLE));
    nic->mapped = true;
    return true;
}

void e1000_unmap(struct e1000_nic *nic) {
    if (!nic->mapped) return;
    pci_write16(0, nic->dev, nic->fn, PCI_COMMAND, nic->original_command);
    nic->mapped = false;
}

/* Waits until (register & mask) == want; the register's last value in *last. */
static bool wait_register(const struct e1000_nic *nic, uint32_t reg, uint32_t mask, uint32_t want, uint32_t *last) {
    for (int i = 0; i < QUICK_POLLS; i++) {
        *last = e1000_read(nic, reg);
        if ((*last & mask) == want) return true;
    }
    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, DEVICE_WAIT_SECONDS);
    while (!rtc_deadline_expired(&deadline)) {
        *last = e1000_read(nic, reg);
        if ((*last & mask) == want) return true;
        io_delay(10);
    }
    return false;
}

bool e1000_reset(const struct e1000_nic *nic) {
    e1000_write(nic, E1000_IMC, 0xFFFFFFFFu);
    e1000_write(nic, E1000_CTRL, e1000_read(nic, E1000_CTRL) | E1000_CTRL_RST);
    /* The manual asks for a short wait before the next access after RST. */
    io_delay(4);
    uint32_t ctrl;
    bool cleared = wait_register(nic, E1000_CTRL, E1000_CTRL_RST, 0, &ctrl);
    e1000_write(nic, E1000_IMC, 0xFFFFFFFFu);
    (void)e1000_read(nic, E1000_ICR);
    return cleared;
}

bool e1000_eeprom_read(const struct e1000_nic *nic, uint8_t word, uint16_t *out) {
    e1000_write(nic, E1000_EERD, (uint32_t)word << E1000_EERD_ADDR_SHIFT | E1000_EERD_START);
    uint32_t eerd;
    if (!wait_register(nic, E1000_EERD, E1000_EERD_DONE, E1000_EERD_DONE, &eerd)) return false;
    *out = (uint16_t)(eerd >> E1000_EERD_DATA_SHIFT);
    return true;
}

bool e1000_phy_read(const struct e1000_nic *nic, uint8_t reg, uint16_t *out, uint32_t *mdic) {
    e1000_write(nic, E1000_MDIC,
                (uint32_t)reg << E1000_MDIC_REG_SHIFT | (uint32_t)E1000_PHY_ADDRESS << E1000_MDIC_PHY_SHIFT |
                    E1000_MDIC_OP_READ);
    if (!wait_register(nic, E1000_MDIC, E1000_MDIC_READY, E1000_MDIC_READY, mdic)) return false;
    *out = (uint16_t)*mdic;
    return !(*mdic & E1000_MDIC_ERROR);
}
