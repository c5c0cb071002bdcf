#include "acpi_pm.h"

#include "io.h"
#include "rtc_clock.h"

#define AML_PACKAGE_OP 0x12
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_BYTE_PREFIX 0x0A
#define ACPI_ENABLE_SECONDS 3

bool acpi_sleep_type(const uint8_t *dsdt, uint32_t length, const char name[4], uint8_t *type) {
    for (uint32_t i = 36; i + 9 < length; i++) {
        if (memcmp(dsdt + i, name, 4) || dsdt[i + 4] != AML_PACKAGE_OP) continue;
        uint32_t at = i + 5;
        at += 1u + (dsdt[at] >> 6);  /* PkgLength: bits 7:6 count the extra bytes */
        at += 1;                     /* NumElements */
        if (at + 1 >= length) return false;
        if (dsdt[at] == AML_ZERO_OP) *type = 0;
        else if (dsdt[at] == AML_ONE_OP) *type = 1;
        else if (dsdt[at] == AML_BYTE_PREFIX) *type = dsdt[at + 1];
        else return false;
        return *type <= 7;
    }
    return false;
}

enum acpi_mode acpi_enter_mode(uint16_t control_port, uint32_t smi_cmd, uint8_t acpi_enable) {
    if (inw(control_port) & PM1_SCI_EN) return ACPI_MODE_ALREADY;
    if (smi_cmd == 0 || smi_cmd > 0xFFFF || acpi_enable == 0) return ACPI_MODE_FAILED;
    outb((uint16_t)smi_cmd, acpi_enable);
    struct rtc_deadline deadline;
    rtc_deadline_start(&deadline, ACPI_ENABLE_SECONDS);
    while (!(inw(control_port) & PM1_SCI_EN)) {
        if (rtc_deadline_expired(&deadline)) return ACPI_MODE_FAILED;
        io_delay(50);
    }
    return ACPI_MODE_ENTERED;
}
