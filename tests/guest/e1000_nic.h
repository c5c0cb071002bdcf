/* The e1000 suite's register-level helpers: finding and mapping the
 * 82540EM, reset, the EEPROM through EERD and the PHY through MDIC. The
 * rings and the serving loop live in suite_e1000.c. */
#pragma once

#include "io.h"

struct e1000_nic {
    uint32_t dev, fn;
    uintptr_t mmio;          /* BAR0, physical == linear */
    uint64_t mmio_bytes;
    uint8_t interrupt_line;
    uint16_t original_command;
    bool mapped;             /* memory decode and bus mastering turned on by us */
};

/* Finds 8086:100e on bus 0; false when there is none. */
bool e1000_find(struct e1000_nic *nic);
/* Checks BAR0 (a memory BAR of at least 128 KiB below 4 GiB) and enables
 * memory decode and bus mastering. `why` says what was wrong. */
bool e1000_map(struct e1000_nic *nic, char *why, size_t why_size);
/* Restores the command register. */
void e1000_unmap(struct e1000_nic *nic);

static inline uint32_t e1000_read(const struct e1000_nic *nic, uint32_t reg) { return mmio_read32(nic->mmio + reg); }
static inline void e1000_write(const struct e1000_nic *nic, uint32_t reg, uint32_t value) {
    mmio_write32(nic->mmio + reg, value);
}

/* Masks every interrupt, sets CTRL.RST and waits (bounded, RTC-measured)
 * for the bit to clear, then masks again and clears ICR: a reset restores
 * the defaults, not necessarily our mask. False when RST never cleared. */
bool e1000_reset(const struct e1000_nic *nic);

/* One EEPROM word through EERD; false when DONE never came. */
bool e1000_eeprom_read(const struct e1000_nic *nic, uint8_t word, uint16_t *out);
/* One PHY register through MDIC; false on a timeout or with MDIC.E set.
 * `*mdic` gets the last MDIC value for the report. */
bool e1000_phy_read(const struct e1000_nic *nic, uint8_t reg, uint16_t *out, uint32_t *mdic);
