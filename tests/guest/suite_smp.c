/* smp suite: start every application processor the MADT lists with
 * INIT-SIPI-SIPI (Intel SDM vol. 3, 8.4.4 "MP initialization example") and
 * check that each one runs our code and reports its own APIC ID. */
#include "console.h"
#include "interrupts.h"
#include "platform.h"
#include "rtc_clock.h"
#include "suites.h"
#include "tap.h"

#define AP_MAX 16  /* must match ap_trampoline.S */
#define AP_TRAMPOLINE_ADDRESS 0x8000
#define AP_START_SECONDS 3

#define ICR_DELIVERY_INIT 0x00000500
#define ICR_DELIVERY_STARTUP 0x00000600
#define ICR_LEVEL_ASSERT 0x00004000
#define ICR_SEND_PENDING 0x00001000

extern const uint8_t ap_trampoline_start[], ap_trampoline_end[];

/* Shared with the APs (ap_trampoline.S / ap_main). */
volatile uint32_t ap_next_slot;
static volatile uint32_t ap_reported;
static volatile uint8_t ap_reported_ids[AP_MAX];

void ap_main(uint32_t slot);
void ap_main(uint32_t slot) {
    ap_reported_ids[slot] = lapic_id();
    __atomic_fetch_add(&ap_reported, 1, __ATOMIC_SEQ_CST);
}

static bool send_ipi(uint8_t apic_id, uint32_t command) {
    lapic_write(LAPIC_ICR_HIGH, (uint32_t)apic_id << 24);
    lapic_write(LAPIC_ICR_LOW, command);
    for (int i = 0; i < 100000; i++)
        if (!(lapic_read(LAPIC_ICR_LOW) & ICR_SEND_PENDING)) return true;
    return false;
}

/* INIT, then two Startup IPIs as the SDM prescribes; the delays (10 ms,
 * 200 us) are generous approximations made of port reads. */
static bool start_ap(uint8_t apic_id) {
    uint32_t startup = ICR_DELIVERY_STARTUP | ICR_LEVEL_ASSERT | (AP_TRAMPOLINE_ADDRESS >> 12);
    if (!send_ipi(apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT)) return false;
    io_delay(2000);
    if (!send_ipi(apic_id, startup)) return false;
    io_delay(100);
    return send_ipi(apic_id, startup);
}

static bool wait_for_reports(uint32_t target) {
    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, AP_START_SECONDS);
    while (ap_reported < target)
        if (rtc_deadline_expired(&deadline)) return false;
    return true;
}

static bool id_reported(uint8_t apic_id, uint32_t count) {
    for (uint32_t i = 0; i < count && i < AP_MAX; i++)
        if (ap_reported_ids[i] == apic_id) return true;
    return false;
}

void suite_smp(void) {
    uint8_t bsp = lapic_id();
    tap_diag("MADT lists %u enabled CPU(s); BSP APIC ID %u", platform.cpu_count, bsp);
    bool bsp_listed = false;
    for (uint32_t i = 0; i < platform.cpu_count; i++) bsp_listed = bsp_listed || platform.cpu_apic_ids[i] == bsp;
    tap_check(platform.have_madt && bsp_listed, "MADT lists the boot CPU", "MADT %d, BSP ID %u not listed",
              platform.have_madt, bsp);
    if (platform.cpu_count <= 1) {
        tap_skip("every AP starts and reports its APIC ID", "only one CPU");
        return;
    }
    if (platform.cpu_count - 1 > AP_MAX) {
        tap_skip("every AP starts and reports its APIC ID", "more than %d APs", AP_MAX);
        return;
    }

    memcpy(phys_to_ptr(AP_TRAMPOLINE_ADDRESS), ap_trampoline_start, (size_t)(ap_trampoline_end - ap_trampoline_start));
    ap_next_slot = 0;
    ap_reported = 0;
    uint32_t started = 0;
    bool ipis_sent = true;
    for (uint32_t i = 0; i < platform.cpu_count; i++) {
        uint8_t id = platform.cpu_apic_ids[i];
        if (id == bsp) continue;
        ipis_sent = start_ap(id) && ipis_sent;
        started++;
        /* One at a time: an AP that fails to start is named, not guessed. */
        if (!wait_for_reports(started)) tap_diag("AP with APIC ID %u did not report", id);
    }
    uint32_t reported = ap_reported;
    tap_check(ipis_sent, "INIT and Startup IPIs accepted by the local APIC", "ICR stayed busy");
    tap_check(reported == started, "every AP starts and reports", "%u of %u APs reported", reported, started);
    bool ids_match = true;
    for (uint32_t i = 0; i < platform.cpu_count; i++) {
        uint8_t id = platform.cpu_apic_ids[i];
        if (id != bsp && !id_reported(id, reported)) ids_match = false;
    }
    tap_check(ids_match && reported == started, "APs report the APIC IDs the MADT lists", "%u reports", reported);
}
