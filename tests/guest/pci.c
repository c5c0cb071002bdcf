/* PCI configuration mechanism #1 and BAR / capability helpers (see pci.h). */
#include "pci.h"

uint32_t pci_read32(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg) {
    uint32_t flags = irq_save();
    outl(PCI_CONFIG_ADDRESS, pci_address(bus, dev, fn, reg));
    uint32_t value = inl(PCI_CONFIG_DATA);
    irq_restore(flags);
    return value;
}

uint16_t pci_read16(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg) {
    return (uint16_t)(pci_read32(bus, dev, fn, reg) >> (8 * (reg & 2)));
}

uint8_t pci_read8(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg) {
    return (uint8_t)(pci_read32(bus, dev, fn, reg) >> (8 * (reg & 3)));
}

void pci_write32(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg, uint32_t value) {
    uint32_t flags = irq_save();
    outl(PCI_CONFIG_ADDRESS, pci_address(bus, dev, fn, reg));
    outl(PCI_CONFIG_DATA, value);
    irq_restore(flags);
}

/* A word access to the data port at offset (reg & 2) writes only those two
 * bytes: a read-modify-write of the dword could clear W1C status bits. */
void pci_write16(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg, uint16_t value) {
    uint32_t flags = irq_save();
    outl(PCI_CONFIG_ADDRESS, pci_address(bus, dev, fn, reg));
    outw((uint16_t)(PCI_CONFIG_DATA + (reg & 2)), value);
    irq_restore(flags);
}

bool pci_find_function(uint16_t vendor, uint16_t device, uint32_t *dev_out, uint32_t *fn_out) {
    uint32_t wanted = (uint32_t)device << 16 | vendor;
    for (uint32_t dev = 0; dev < 32; dev++) {
        uint32_t id0 = pci_read32(0, dev, 0, 0);
        if ((id0 & 0xFFFF) == 0xFFFF) continue;
        bool multi = pci_read8(0, dev, 0, 0x0E) & 0x80;
        for (uint32_t fn = 0; fn < (multi ? 8u : 1u); fn++) {
            if (pci_read32(0, dev, fn, 0) == wanted) {
                *dev_out = dev;
                *fn_out = fn;
                return true;
            }
        }
    }
    return false;
}

uint8_t pci_next_capability(uint32_t dev, uint32_t fn, uint8_t at, unsigned *steps) {
    uint8_t next;
    if (at == 0) {
        if (!(pci_read32(0, dev, fn, PCI_COMMAND) >> 16 & PCI_STATUS_CAP_LIST)) return 0;
        next = pci_read8(0, dev, fn, PCI_CAPABILITY_POINTER) & 0xFC;
    } else {
        next = pci_read8(0, dev, fn, at + 1u) & 0xFC;
    }
    if (next < 0x40 || ++*steps > PCI_MAX_CAPABILITIES) return 0;
    return next;
}

uint8_t pci_find_capability(uint32_t dev, uint32_t fn, uint8_t id) {
    unsigned steps = 0;
    for (uint8_t at = pci_next_capability(dev, fn, 0, &steps); at; at = pci_next_capability(dev, fn, at, &steps))
        if (pci_read8(0, dev, fn, at) == id) return at;
    return 0;
}

unsigned pci_bar_probe(uint32_t dev, uint32_t fn, unsigned bar, struct pci_bar *out) {
    uint32_t reg = 0x10 + 4 * bar;
    uint32_t original = pci_read32(0, dev, fn, reg);
    bool io = original & 1;
    bool wide = !io && ((original >> 1) & 3) == 2 && bar < 5;
    uint32_t original_high = wide ? pci_read32(0, dev, fn, reg + 4) : 0;
    uint16_t command = pci_read16(0, dev, fn, PCI_COMMAND);

    uint32_t flags = irq_save();
    pci_write16(0, dev, fn, PCI_COMMAND, command & ~(uint16_t)(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    pci_write32(0, dev, fn, reg, 0xFFFFFFFFu);
    uint32_t low = pci_read32(0, dev, fn, reg);
    uint32_t high = 0xFFFFFFFFu;
    if (wide) {
        pci_write32(0, dev, fn, reg + 4, 0xFFFFFFFFu);
        high = pci_read32(0, dev, fn, reg + 4);
        pci_write32(0, dev, fn, reg + 4, original_high);
    }
    pci_write32(0, dev, fn, reg, original);
    uint32_t restored = pci_read32(0, dev, fn, reg);
    uint32_t restored_high = wide ? pci_read32(0, dev, fn, reg + 4) : 0;
    pci_write16(0, dev, fn, PCI_COMMAND, command);
    irq_restore(flags);

    *out = (struct pci_bar){0};
    out->io = io;
    out->wide = wide;
    out->prefetchable = !io && (original & 8);
    out->restored = restored == original && restored_high == original_high;
    uint64_t mask = io ? (low & ~3u) : (low & ~15u);
    if (mask != 0) {
        if (io && (mask >> 16) == 0) mask |= 0xFFFF0000u; /* 16-bit I/O decoder */
        mask |= (uint64_t)high << 32;
        out->implemented = true;
        out->size = ~mask + 1;
        out->address = (io ? (original & ~3u) : (original & ~15u)) | (uint64_t)original_high << 32;
    }
    return wide ? 2 : 1;
}

void pci_bar_set_address(uint32_t dev, uint32_t fn, unsigned bar, bool wide, uint64_t address) {
    uint32_t reg = 0x10 + 4 * bar;
    uint16_t command = pci_read16(0, dev, fn, PCI_COMMAND);
    uint32_t flags = irq_save();
    pci_write16(0, dev, fn, PCI_COMMAND, command & ~(uint16_t)(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    uint32_t type_bits = pci_read32(0, dev, fn, reg) & 0xF;
    pci_write32(0, dev, fn, reg, (uint32_t)address | type_bits);
    if (wide) pci_write32(0, dev, fn, reg + 4, (uint32_t)(address >> 32));
    pci_write16(0, dev, fn, PCI_COMMAND, command);
    irq_restore(flags);
}
