/* PCI configuration space through mechanism #1 (PCI Local Bus 3.0,
 * 3.2.2.3.2) and the few helpers the pci and virtio-blk suites share: BAR
 * decoding and sizing (6.2.5.1) and capability-list walking (6.7). */
#pragma once

#include "io.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_ENABLE 0x80000000u

#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO (1u << 0)
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_COMMAND_BUS_MASTER (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_STATUS_CAP_LIST (1u << 4) /* in the upper half of dword 0x04 */
#define PCI_CAPABILITY_POINTER 0x34
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_MAX_CAPABILITIES 48 /* (0x100 - 0x40) / 4: a longer walk is a loop */

#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VENDOR 0x09

/* The CONFIG_ADDRESS value for a dword of configuration space. */
static inline uint32_t pci_address(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg) {
    return PCI_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC);
}

/* Each access is an address/data register pair: interrupts stay off in
 * between so a handler's own access cannot split it. */
uint32_t pci_read32(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg);
uint16_t pci_read16(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg);
uint8_t pci_read8(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg);
void pci_write32(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg, uint32_t value);
void pci_write16(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg, uint16_t value);

/* Finds the first function on bus 0 with this vendor and device ID
 * (multi-function devices included). */
bool pci_find_function(uint16_t vendor, uint16_t device, uint32_t *dev, uint32_t *fn);

/* Next capability after `at` (0: the first one), or 0 at the end of the list
 * or when the list is malformed (pointer below 0x40, or more than
 * PCI_MAX_CAPABILITIES entries: `*steps` counts them across calls). */
uint8_t pci_next_capability(uint32_t dev, uint32_t fn, uint8_t at, unsigned *steps);
/* The first capability with this ID, or 0. */
uint8_t pci_find_capability(uint32_t dev, uint32_t fn, uint8_t id);

struct pci_bar {
    bool implemented;
    bool io;
    bool wide;          /* 64-bit memory BAR: uses this register and the next */
    bool prefetchable;
    uint64_t address;   /* as programmed (type bits removed) */
    uint64_t size;      /* 0 when not implemented */
    bool restored;      /* the register(s) read back their original value after sizing */
};

/* Sizes BAR `bar` of a type-0 function with I/O and memory decode off (as
 * OSes do, so that the all-ones probe value never decodes) and restores it
 * and the command register. Returns the number of BAR registers used: 2 for
 * a 64-bit BAR, else 1. */
unsigned pci_bar_probe(uint32_t dev, uint32_t fn, unsigned bar, struct pci_bar *out);
/* Programs a memory BAR's address (both halves of a 64-bit one) with decode
 * off; restores the command register. */
void pci_bar_set_address(uint32_t dev, uint32_t fn, unsigned bar, bool wide, uint64_t address);
