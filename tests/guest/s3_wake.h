/* S3 (suspend to RAM) support for the acpi-s3 suite: the real-mode waking
 * stub and the setjmp-like suspend call (s3_wake.S). Included by C and by
 * the assembler. */
#pragma once

/* Where the stub is copied: conventional memory below 64 KiB (so the stub
 * can address itself with DS = 0 whatever CS:IP the firmware enters it
 * with), clear of the IVT/BDA, SeaBIOS's S3 resume stack (below 0x1000),
 * the AP trampoline page (0x8000) and the EBDA. */
#define S3_WAKE_STUB_ADDRESS 0x9000

#ifndef __ASSEMBLER__
#include "io.h"

/* Saves what the resume path needs (EIP, ESP, EBX, ESI, EDI, EBP, the data
 * selector, GDTR, IDTR, CR0), copies the waking stub to
 * S3_WAKE_STUB_ADDRESS, then writes `control` (SLP_TYP | SLP_EN) to the
 * PM1_CNT port. Returns 0 right after that write (the machine has not slept
 * yet, or will not), and returns 1 a second time when the machine wakes
 * through the stub, like setjmp/longjmp. Call with interrupts disabled;
 * the caller's frame must still be live when the machine wakes (the caller
 * waits in it). returns_twice makes GCC treat it as setjmp: no value is
 * assumed to survive in a register or a reused stack slot across it. */
int s3_suspend(uint16_t pm1_control_port, uint16_t control) __attribute__((returns_twice));
#endif
