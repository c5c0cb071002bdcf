/* The test suites (one file each) and the demo mode. Each suite reports
 * through tap.h and leaves the devices and interrupt routing as it found
 * them, so suites can run in any order. */
#pragma once

void suite_uart(void);
void suite_rtc(void);
void suite_i8042(void);
void suite_i8042_inject(void);
void suite_pit(void);
void suite_smp(void);
void suite_pci(void);
void suite_virtio_blk(void);
void suite_virtio_blk_bench(void);
void suite_virtio_net(void);
void suite_virtio_net_bench(void);
void suite_e1000(void);
void suite_ticker(void);
void suite_acpi_power(void);
void suite_acpi_s3(void);
void demo_run(void);
