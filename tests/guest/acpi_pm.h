/* What the acpi-power and acpi-s3 suites share: FADT and PM1 register
 * layout, the \_Sx sleep type from the DSDT, and entering ACPI mode. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* FADT field offsets (ACPI 6.3 table 5-34). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1_EVT_LEN 88
#define FADT_MIN_LENGTH 116  /* through PM1_EVT_LEN and the fields before */
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_FIRMWARE_CTRL_END 140

/* PM1 control bits (4.8.3.2.1). */
#define PM1_SCI_EN 0x0001u
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK (0x7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN 0x2000u

/* SLP_TYPa of the DSDT's package `name` ("_S3_", "_S5_"): NameOp name
 * PackageOp PkgLength NumElements, then ZeroOp, OneOp or BytePrefix n. A
 * byte scan, as small OS kernels do; false when absent or not 0..7. */
bool acpi_sleep_type(const uint8_t *dsdt, uint32_t length, const char name[4], uint8_t *type);

enum acpi_mode { ACPI_MODE_ALREADY, ACPI_MODE_ENTERED, ACPI_MODE_FAILED };
/* Enters ACPI mode as OSPM does (ACPI 6.3 16.3.1) when the firmware left
 * the platform in legacy mode: ACPI_ENABLE to SMI_CMD, then SCI_EN in
 * PM1_CNT (at `control_port`) must read 1 within a few seconds. */
enum acpi_mode acpi_enter_mode(uint16_t control_port, uint32_t smi_cmd, uint8_t acpi_enable);
