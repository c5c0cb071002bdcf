/* pci suite: configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2),
 * enumeration of bus 0, header and capability-list sanity, BAR size probing
 * (6.2.5.1), MSI-X table/PBA placement (6.8.2), and the ECAM window when an ACPI MCFG names one. Device-
 * agnostic, so it passes on keel (host bridge only) and on QEMU's pc
 * machine (i440FX, PIIX3, VGA, e1000). Every register touched is restored. */
#include "pci.h"
#include "platform.h"
#include "suites.h"
#include "tap.h"

/* Shorthands for the checks below (cfg_read8: bus 0). */
static uint32_t cfg_read32(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg) {
    return pci_read32(bus, dev, fn, reg);
}
static uint8_t cfg_read8(uint32_t dev, uint32_t fn, uint32_t reg) { return pci_read8(0, dev, fn, reg); }

static void check_mechanism1(void) {
    uint32_t flags = irq_save();
    uint32_t saved = inl(PCI_CONFIG_ADDRESS);
    outl(PCI_CONFIG_ADDRESS, PCI_ENABLE);
    uint32_t readback = inl(PCI_CONFIG_ADDRESS);
    /* Byte/word accesses to the data port pick the byte at their offset. */
    outl(PCI_CONFIG_ADDRESS, pci_address(0, 0, 0, 0));
    uint32_t dword = inl(PCI_CONFIG_DATA);
    uint16_t high = inw(PCI_CONFIG_DATA + 2);
    uint8_t byte1 = inb(PCI_CONFIG_DATA + 1);
    /* With the enable bit clear, the data port reads all-ones. */
    outl(PCI_CONFIG_ADDRESS, pci_address(0, 0, 0, 0) & ~PCI_ENABLE);
    uint32_t disabled = inl(PCI_CONFIG_DATA);
    outl(PCI_CONFIG_ADDRESS, saved);
    irq_restore(flags);
    tap_check(readback == PCI_ENABLE, "CONFIG_ADDRESS holds the enable bit", "read %08x", readback);
    tap_check(high == (uint16_t)(dword >> 16) && byte1 == (uint8_t)(dword >> 8), "data port byte/word offsets",
              "dword %08x, word at +2 %04x, byte at +1 %02x", dword, high, byte1);
    tap_check(disabled == 0xFFFFFFFFu, "data port reads all-ones with enable clear", "read %08x", disabled);
}

static void check_host_bridge(void) {
    uint32_t id = cfg_read32(0, 0, 0, 0x00);
    uint32_t class_rev = cfg_read32(0, 0, 0, 0x08);
    tap_diag("00:00.0 %04x:%04x class %06x", id & 0xFFFF, id >> 16, class_rev >> 8);
    tap_check((id & 0xFFFF) == 0x8086 && (class_rev >> 16) == 0x0600, "host bridge at 00:00.0",
              "id %08x class/rev %08x", id, class_rev);
    uint32_t other_bus = cfg_read32(1, 0, 0, 0x00);
    tap_check(other_bus == 0xFFFFFFFFu, "bus 1 (absent) reads all-ones", "read %08x", other_bus);
}

/* Bounded walk: every pointer dword-aligned in 0x40..0xFC, at most
 * PCI_MAX_CAPABILITIES entries. */
static bool capability_chain_ok(uint32_t dev, uint32_t fn, unsigned *count) {
    uint8_t at = cfg_read8(dev, fn, PCI_CAPABILITY_POINTER) & 0xFC;
    *count = 0;
    while (at != 0) {
        if (at < 0x40 || ++*count > PCI_MAX_CAPABILITIES) return false;
        at = cfg_read8(dev, fn, at + 1u) & 0xFC;
    }
    return true;
}

static bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

static void print_bar(uint32_t dev, uint32_t fn, unsigned bar, const struct pci_bar *b, bool ok) {
    const char *kind = b->io ? "io" : b->wide ? "mem64" : "mem32";
    const char *bad = ok ? "" : " (bad size or not restored)";
    if (b->size >> 32)
        tap_diag("%02x.%x BAR%u %s size 0x%x%08x%s", (unsigned)dev, (unsigned)fn, bar, kind, (unsigned)(b->size >> 32),
                 (unsigned)b->size, bad);
    else
        tap_diag("%02x.%x BAR%u %s size 0x%x%s", (unsigned)dev, (unsigned)fn, bar, kind, (unsigned)b->size, bad);
}

/* Sizes every BAR of a type-0 function into bars[] (the upper half of a
 * 64-bit pair stays "not implemented"). */
static void size_bars(uint32_t dev, uint32_t fn, struct pci_bar bars[6], unsigned *sized, bool *all_ok) {
    for (unsigned bar = 0; bar < 6; bar++) bars[bar] = (struct pci_bar){0};
    for (unsigned bar = 0; bar < 6;) {
        unsigned used = pci_bar_probe(dev, fn, bar, &bars[bar]);
        if (bars[bar].implemented) {
            bool ok = is_power_of_two(bars[bar].size) && bars[bar].restored;
            print_bar(dev, fn, bar, &bars[bar], ok);
            if (!ok) *all_ok = false;
            ++*sized;
        }
        bar += used;
    }
}

/* MSI-X (PCI Local Bus 3.0, 6.8.2): table size N = Message Control bits
 * 10:0 + 1; the table (16 bytes an entry) and the PBA (one bit an entry, in
 * qwords) each lie inside the memory BAR their BIR names. */
static bool msix_capability_ok(uint32_t dev, uint32_t fn, uint8_t cap, const struct pci_bar bars[6]) {
    uint16_t control = pci_read16(0, dev, fn, cap + 2u);
    uint32_t table = pci_read32(0, dev, fn, cap + 4u);
    uint32_t pba = pci_read32(0, dev, fn, cap + 8u);
    uint32_t entries = (control & 0x7FFu) + 1;
    unsigned table_bir = table & 7, pba_bir = pba & 7;
    uint64_t table_end = (uint64_t)(table & ~7u) + 16u * entries;
    uint64_t pba_end = (uint64_t)(pba & ~7u) + 8u * ((entries + 63) / 64);
    bool table_ok = table_bir < 6 && bars[table_bir].implemented && !bars[table_bir].io &&
                    table_end <= bars[table_bir].size;
    bool pba_ok = pba_bir < 6 && bars[pba_bir].implemented && !bars[pba_bir].io && pba_end <= bars[pba_bir].size;
    tap_diag("%02x.%x MSI-X at %02x: %u entries, table BIR %u offset %x, PBA BIR %u offset %x%s", (unsigned)dev,
             (unsigned)fn, cap, (unsigned)entries, table_bir, table & ~7u, pba_bir, pba & ~7u,
             table_ok && pba_ok ? "" : " (outside an implemented memory BAR)");
    return table_ok && pba_ok;
}

static void check_bus0(void) {
    unsigned functions = 0, absent_ok = 0, absent = 0, bad_headers = 0, bad_chains = 0, chains = 0;
    unsigned sized = 0, msix = 0, bad_msix = 0;
    bool bars_ok = true;
    for (uint32_t dev = 0; dev < 32; dev++) {
        uint32_t id0 = cfg_read32(0, dev, 0, 0);
        if ((id0 & 0xFFFF) == 0xFFFF) {
            ++absent;
            if (id0 == 0xFFFFFFFFu && cfg_read32(0, dev, 0, 0x08) == 0xFFFFFFFFu) ++absent_ok;
            continue;
        }
        bool multi = cfg_read8(dev, 0, 0x0E) & 0x80;
        for (uint32_t fn = 0; fn < (multi ? 8u : 1u); fn++) {
            uint32_t id = cfg_read32(0, dev, fn, 0);
            if ((id & 0xFFFF) == 0xFFFF) continue;
            ++functions;
            uint8_t type = cfg_read8(dev, fn, 0x0E) & 0x7F;
            uint32_t class_rev = cfg_read32(0, dev, fn, 0x08);
            tap_diag("%02x.%x %04x:%04x class %06x type %u", (unsigned)dev, (unsigned)fn, id & 0xFFFF, id >> 16,
                     class_rev >> 8, type);
            if ((id & 0xFFFF) == 0 || type > 2) ++bad_headers;
            uint16_t status = cfg_read32(0, dev, fn, 0x04) >> 16;
            if (status & (1u << 4)) {
                unsigned count;
                ++chains;
                if (!capability_chain_ok(dev, fn, &count)) ++bad_chains;
            }
            if (type != 0) continue;
            struct pci_bar bars[6];
            size_bars(dev, fn, bars, &sized, &bars_ok);
            uint8_t cap = pci_find_capability(dev, fn, PCI_CAP_ID_MSIX);
            if (cap) {
                ++msix;
                if (!msix_capability_ok(dev, fn, cap, bars)) ++bad_msix;
            }
        }
        if (!multi) {
            /* A single-function device answers on function 0 only. */
            uint32_t fn1 = cfg_read32(0, dev, 1, 0);
            if ((fn1 & 0xFFFF) != 0xFFFF) ++bad_headers;
        }
    }
    tap_check(functions >= 1 && bad_headers == 0, "every present function has a sane header",
              "%u functions, %u bad", functions, bad_headers);
    tap_check(absent > 0 && absent_ok == absent, "absent slots read all-ones", "%u of %u absent slots read all-ones",
              absent_ok, absent);
    tap_check(bad_chains == 0, "capability lists are well formed", "%u of %u chains bad", bad_chains, chains);
    if (sized == 0)
        tap_skip("BAR sizing returns a power of two and restores", "no device on bus 0 has a BAR");
    else
        tap_check(bars_ok, "BAR sizing returns a power of two and restores", "see the BAR lines above");
    if (msix == 0)
        tap_skip("MSI-X tables and PBAs lie in implemented memory BARs", "no function has an MSI-X capability");
    else
        tap_check(bad_msix == 0, "MSI-X tables and PBAs lie in implemented memory BARs", "%u of %u bad", bad_msix,
                  msix);
}

/* The MCFG through the RSDT, if the firmware provides one. */
static uintptr_t find_mcfg_ecam(void) {
    if (!platform.have_acpi) return 0;
    const uint8_t *rsdp = phys_to_ptr(platform.rsdp_address);
    uint32_t rsdt_address;
    memcpy(&rsdt_address, rsdp + 16, 4);
    const uint8_t *rsdt = phys_to_ptr(rsdt_address);
    uint32_t length;
    memcpy(&length, rsdt + 4, 4);
    for (uint32_t at = 36; at + 4 <= length && at < 36 + 4 * 64; at += 4) {
        uint32_t table_address;
        memcpy(&table_address, rsdt + at, 4);
        const uint8_t *table = phys_to_ptr(table_address);
        if (memcmp(table, "MCFG", 4)) continue;
        uint64_t base;
        uint16_t segment;
        memcpy(&base, table + 44, 8);
        memcpy(&segment, table + 52, 2);
        if (segment != 0 || table[54] != 0 || base >> 32) return 0;
        return (uintptr_t)base;
    }
    return 0;
}

static void check_ecam(void) {
    uintptr_t ecam = find_mcfg_ecam();
    if (!ecam) {
        tap_skip("ECAM agrees with mechanism #1", "no MCFG (QEMU pc has none)");
        return;
    }
    tap_diag("ECAM at %08x", (unsigned)ecam);
    unsigned mismatches = 0;
    for (uint32_t dev = 0; dev < 32; dev++) {
        for (uint32_t reg = 0; reg < 0x40; reg += 4) {
            uint32_t via_ports = cfg_read32(0, dev, 0, reg);
            uint32_t via_ecam = mmio_read32(ecam + (dev << 15) + reg);
            if (via_ports != via_ecam) ++mismatches;
        }
    }
    /* A write through ECAM is visible through the ports (interrupt line of
     * the host bridge: a plain read/write scratch register). */
    uint32_t line_reg = cfg_read32(0, 0, 0, 0x3C);
    mmio_write32(ecam + 0x3C, (line_reg & ~0xFFu) | 0x5A);
    uint32_t after = cfg_read32(0, 0, 0, 0x3C);
    mmio_write32(ecam + 0x3C, line_reg);
    tap_check(mismatches == 0 && (after & 0xFF) == 0x5A, "ECAM agrees with mechanism #1",
              "%u dwords differ; line after ECAM write %02x", mismatches, after & 0xFF);
}

void suite_pci(void) {
    check_mechanism1();
    check_host_bridge();
    check_bus0();
    check_ecam();
}
